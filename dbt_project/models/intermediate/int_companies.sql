-- One row per company (normalised domain): the most complete raw row's firmographics plus the
-- company's engagement. Companies with no domain at all cannot be matched in a CRM and are left out.

with

companies as (

    select * from {{ ref('stg_raw__companies') }}
    where domain is not null

),

engagement as (

    select * from {{ ref('int_company_engagement') }}

),

deduplicated as (

    select
        *,
        count(*) over (partition by domain) as duplicate_count

    from companies
    qualify row_number() over (partition by domain order by completeness desc, company_id) = 1

),

final as (

    select
        deduplicated.domain,
        deduplicated.name,
        deduplicated.website,
        deduplicated.industry,
        deduplicated.employee_count,
        deduplicated.annual_revenue,
        deduplicated.country,
        deduplicated.linkedin_url,
        deduplicated.duplicate_count,
        engagement.first_seen_at,
        engagement.last_seen_at,
        coalesce(engagement.session_count, 0) as session_count,
        coalesce(engagement.page_view_count, 0) as page_view_count,
        engagement.top_pages,
        engagement.last_referrer,
        engagement.last_utm_source,
        coalesce(engagement.visitor_count, 0) as visitor_count,
        coalesce(engagement.chat_count, 0) as chat_count,
        coalesce(engagement.demo_requested, false) as demo_requested,
        engagement.last_chat_at,
        engagement.intent_signal,
        engagement.intent_topic,
        engagement.intent_signal_at

    from deduplicated
    left join engagement on deduplicated.domain = engagement.domain

)

select * from final
