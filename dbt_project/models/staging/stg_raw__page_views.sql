with

source as (

    select * from {{ raw_source('page_views') }}

),

renamed as (

    select
        id as page_view_id,
        session_id,
        {{ clean_text('page_url') }} as page_url,
        {{ url_path('page_url') }} as page_path,
        viewed_at

    from source

)

select * from renamed
