with

source as (

    select * from {{ ref('orchestration_outputs') }}

),

renamed as (

    select
        id as output_id,
        trim(orchestration_id) as orchestration_id,
        person_id,
        company_id,
        lower(trim(signal_type)) as signal_type,
        nullif(trim(topic), '') as topic,
        produced_at

    from source

)

select * from renamed
