with

source as (

    select * from {{ raw_source('orchestration_outputs') }}

),

renamed as (

    select
        id as output_id,
        {{ clean_text('orchestration_id') }} as orchestration_id,
        person_id,
        company_id,
        lower({{ clean_text('signal_type') }}) as signal_type,
        {{ clean_text('topic') }} as topic,
        produced_at

    from source

)

select * from renamed
