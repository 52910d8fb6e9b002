-- Warmly data per company (normalised domain): visits by anyone from the company, identified
-- or not, their pages and referrers, chats, and the latest intent signal about the company.

with

sessions as (

    select * from {{ ref('int_sessions') }}
    where company_domain is not null

),

page_views as (

    select * from {{ ref('int_page_views') }}
    where company_domain is not null

),

chats as (

    select * from {{ ref('int_chats') }}
    where company_domain is not null and is_engaged

),

outputs as (

    select * from {{ ref('int_orchestration_outputs') }}
    where company_domain is not null

),

session_facts as (

    select
        company_domain,
        count(*) as session_count,
        sum(page_view_count) as page_view_count,
        min(first_viewed_at) as first_seen_at,
        max(last_viewed_at) as last_seen_at,
        count(distinct email) as visitor_count

    from sessions
    group by company_domain

),

page_counts as (

    select
        company_domain,
        page_path,
        count(*) as views,
        row_number() over (partition by company_domain order by count(*) desc, page_path) as page_rank

    from page_views
    group by company_domain, page_path

),

top_pages as (

    select
        company_domain,
        {{ dbt.listagg('page_path', "', '", 'order by views desc, page_path') }} as top_pages

    from page_counts
    where page_rank <= 5
    group by company_domain

),

last_referrers as (

    select company_domain, referrer as last_referrer
    from sessions
    where referrer is not null
    qualify row_number() over (partition by company_domain order by started_at desc, session_id desc) = 1

),

last_utm_sources as (

    select company_domain, utm_source as last_utm_source
    from sessions
    where utm_source is not null
    qualify row_number() over (partition by company_domain order by started_at desc, session_id desc) = 1

),

chat_facts as (

    select
        company_domain,
        count(*) as chat_count,
        {{ dbt.bool_or('demo_requested') }} as demo_requested,
        max(started_at) as last_chat_at

    from chats
    group by company_domain

),

intent as (

    select
        company_domain,
        signal_type as intent_signal,
        topic as intent_topic,
        produced_at as intent_signal_at

    from outputs
    qualify row_number() over (partition by company_domain order by produced_at desc, output_id desc) = 1

),

domains as (

    select company_domain from session_facts
    union
    select company_domain from chat_facts
    union
    select company_domain from intent

),

final as (

    select
        domains.company_domain as domain,
        session_facts.first_seen_at,
        session_facts.last_seen_at,
        coalesce(session_facts.session_count, 0) as session_count,
        coalesce(session_facts.page_view_count, 0) as page_view_count,
        top_pages.top_pages,
        last_referrers.last_referrer,
        last_utm_sources.last_utm_source,
        coalesce(session_facts.visitor_count, 0) as visitor_count,
        coalesce(chat_facts.chat_count, 0) as chat_count,
        coalesce(chat_facts.demo_requested, false) as demo_requested,
        chat_facts.last_chat_at,
        intent.intent_signal,
        intent.intent_topic,
        intent.intent_signal_at

    from domains
    left join session_facts on domains.company_domain = session_facts.company_domain
    left join top_pages on domains.company_domain = top_pages.company_domain
    left join last_referrers on domains.company_domain = last_referrers.company_domain
    left join last_utm_sources on domains.company_domain = last_utm_sources.company_domain
    left join chat_facts on domains.company_domain = chat_facts.company_domain
    left join intent on domains.company_domain = intent.company_domain

)

select * from final
