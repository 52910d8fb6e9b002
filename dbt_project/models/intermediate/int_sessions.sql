-- Sessions of identified visitors (a person, a company or both), with their page-view facts.
-- Sessions nobody was identified in are dropped: no workflow can write them.

with

sessions as (

    select * from {{ ref('stg_raw__sessions') }}

),

person_ids as (

    select * from {{ ref('int_person_ids') }}

),

raw_companies as (

    select company_id, domain from {{ ref('stg_raw__companies') }}

),

page_views as (

    select
        session_id,
        count(*) as page_view_count,
        min(viewed_at) as first_viewed_at,
        max(viewed_at) as last_viewed_at

    from {{ ref('stg_raw__page_views') }}
    group by session_id

),

joined as (

    select
        sessions.session_id,
        person_ids.email,
        -- The person's company wins so that a person and the company it is linked to see the same visits.
        coalesce(person_ids.company_domain, raw_companies.domain) as company_domain,
        sessions.started_at,
        sessions.landing_page_path,
        sessions.referrer,
        sessions.utm_source,
        sessions.utm_medium,
        sessions.utm_campaign,
        coalesce(page_views.page_view_count, 0) as page_view_count,
        coalesce(page_views.first_viewed_at, sessions.started_at) as first_viewed_at,
        coalesce(page_views.last_viewed_at, sessions.started_at) as last_viewed_at

    from sessions
    left join person_ids on sessions.person_id = person_ids.person_id
    left join raw_companies on sessions.company_id = raw_companies.company_id
    left join page_views on sessions.session_id = page_views.session_id

),

final as (

    select * from joined
    where email is not null or company_domain is not null

)

select * from final
