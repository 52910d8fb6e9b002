with

source as (

    select * from {{ raw_source('orchestrations') }}

),

renamed as (

    select
        {{ clean_text('id') }} as orchestration_id,
        {{ clean_text('name') }} as orchestration_name,
        coalesce(has_sync_to_crm_step, false) as has_sync_to_crm_step

    from source

)

select * from renamed
