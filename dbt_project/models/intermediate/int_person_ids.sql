-- Every raw person id with a usable email, mapped to the one person it is: the normalised email.
-- The same person seen twice (other device, other form, email typed in other case) has several
-- ids; the most complete row, then the most recent, speaks for all of them.

with

persons as (

    select * from {{ ref('stg_raw__persons') }}
    where is_valid_email

),

raw_companies as (

    select company_id, domain from {{ ref('stg_raw__companies') }}

),

known_domains as (

    select distinct domain from raw_companies
    where domain is not null

),

ranked as (

    select
        persons.person_id,
        persons.email,
        persons.email_domain,
        persons.is_personal_email,
        raw_companies.domain as identified_company_domain,
        row_number() over (
            partition by persons.email
            order by persons.completeness desc, persons.identified_at desc, persons.person_id desc
        ) as row_rank,
        count(*) over (partition by persons.email) as duplicate_count

    from persons
    left join raw_companies on persons.company_id = raw_companies.company_id

),

primary_rows as (

    select
        ranked.email,
        -- The company the person was identified with; failing that, a known company whose domain
        -- is the email's. Personal addresses (gmail.com...) never name an employer.
        coalesce(
            ranked.identified_company_domain,
            case when not ranked.is_personal_email then known_domains.domain end
        ) as company_domain

    from ranked
    left join known_domains on ranked.email_domain = known_domains.domain
    where ranked.row_rank = 1

),

final as (

    select
        ranked.person_id,
        ranked.email,
        ranked.row_rank = 1 as is_primary,
        ranked.duplicate_count,
        primary_rows.company_domain

    from ranked
    inner join primary_rows on ranked.email = primary_rows.email

)

select * from final
