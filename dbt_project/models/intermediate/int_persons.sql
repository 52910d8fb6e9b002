-- One row per person (normalised email): the primary raw row's profile, its company's
-- firmographics, and the person's engagement across all of its raw ids.

with

persons as (

    select * from {{ ref('stg_raw__persons') }}

),

person_ids as (

    select * from {{ ref('int_person_ids') }}
    where is_primary

),

companies as (

    select * from {{ ref('int_companies') }}

),

engagement as (

    select * from {{ ref('int_person_engagement') }}

),

final as (

    select
        person_ids.email,
        persons.email_domain,
        persons.is_personal_email,
        persons.first_name,
        persons.last_name,
        persons.title,
        persons.seniority,
        persons.department,
        persons.linkedin_url,
        persons.identification_source,
        persons.identified_at,
        person_ids.duplicate_count,
        companies.domain as company_domain,
        companies.name as company_name,
        companies.industry as company_industry,
        companies.employee_count as company_employee_count,
        companies.country as company_country,
        engagement.phone,
        engagement.first_seen_at,
        engagement.last_seen_at,
        coalesce(engagement.session_count, 0) as session_count,
        coalesce(engagement.page_view_count, 0) as page_view_count,
        engagement.top_pages,
        engagement.last_referrer,
        engagement.last_utm_source,
        coalesce(engagement.chat_count, 0) as chat_count,
        coalesce(engagement.demo_requested, false) as demo_requested,
        engagement.last_chat_at,
        engagement.chat_use_case,
        engagement.chat_answers,
        engagement.intent_signal,
        engagement.intent_topic,
        engagement.intent_signal_at

    from person_ids
    inner join persons on person_ids.person_id = persons.person_id
    left join companies on person_ids.company_domain = companies.domain
    left join engagement on person_ids.email = engagement.email

)

select * from final
