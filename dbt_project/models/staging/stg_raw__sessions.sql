with

source as (

    select * from {{ raw_source('sessions') }}

),

renamed as (

    select
        id as session_id,
        person_id,
        company_id,
        started_at,
        {{ clean_text('landing_page') }} as landing_page_url,
        {{ url_path('landing_page') }} as landing_page_path,
        {{ clean_text('referrer') }} as referrer,
        lower({{ clean_text('utm_source') }}) as utm_source,
        lower({{ clean_text('utm_medium') }}) as utm_medium,
        lower({{ clean_text('utm_campaign') }}) as utm_campaign

    from source

)

select * from renamed
