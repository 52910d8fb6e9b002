with

source as (

    select * from {{ ref('orchestrations') }}

),

renamed as (

    select
        trim(id) as orchestration_id,
        nullif(trim(name), '') as orchestration_name,
        coalesce(has_sync_to_crm_step, false) as has_sync_to_crm_step

    from source

)

select * from renamed
