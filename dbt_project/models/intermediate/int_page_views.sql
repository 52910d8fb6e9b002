-- Page views of identified sessions, keyed by the visitor's email and company domain.

with

page_views as (

    select * from {{ ref('stg_raw__page_views') }}

),

sessions as (

    select session_id, email, company_domain from {{ ref('int_sessions') }}

),

final as (

    select
        page_views.page_view_id,
        page_views.session_id,
        sessions.email,
        sessions.company_domain,
        page_views.page_path,
        page_views.viewed_at

    from page_views
    inner join sessions on page_views.session_id = sessions.session_id

)

select * from final
