with

source as (

    select * from {{ ref('sessions') }}

),

renamed as (

    select
        id as session_id,
        person_id,
        company_id,
        started_at,
        nullif(trim(landing_page), '') as landing_page_url,
        {{ url_path('landing_page') }} as landing_page_path,
        nullif(trim(referrer), '') as referrer,
        nullif(lower(trim(utm_source)), '') as utm_source,
        nullif(lower(trim(utm_medium)), '') as utm_medium,
        nullif(lower(trim(utm_campaign)), '') as utm_campaign

    from source

)

select * from renamed
