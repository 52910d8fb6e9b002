with

source as (

    select * from {{ raw_source('persons') }}

),

normalized as (

    select
        id as person_id,
        company_id,
        lower({{ clean_text('email') }}) as email,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ clean_text('title') }} as title,
        {{ clean_text('seniority') }} as seniority,
        {{ clean_text('department') }} as department,
        {{ clean_text('linkedin_url') }} as linkedin_url,
        identified_at,
        lower({{ clean_text('identification_source') }}) as identification_source

    from source

),

final as (

    select
        person_id,
        company_id,
        email,
        split_part(email, '@', 2) as email_domain,
        -- An email a CRM will accept as a key; an apostrophe in the local part is legal.
        coalesce(
            {{ regexp_like('email', "^[a-z0-9._%+'-]+@[a-z0-9-]+([.][a-z0-9-]+)*[.][a-z]{2,}$") }},
            false
        ) as is_valid_email,
        split_part(email, '@', 2) in ({{ personal_email_domains() }}) as is_personal_email,
        first_name,
        last_name,
        title,
        seniority,
        department,
        linkedin_url,
        identified_at,
        identification_source,
        (case when first_name is not null then 1 else 0 end)
        + (case when last_name is not null then 1 else 0 end)
        + (case when title is not null then 1 else 0 end)
        + (case when seniority is not null then 1 else 0 end)
        + (case when department is not null then 1 else 0 end)
        + (case when linkedin_url is not null then 1 else 0 end)
        + (case when company_id is not null then 1 else 0 end) as completeness

    from normalized

)

select * from final
