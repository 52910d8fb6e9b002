with

source as (

    select * from {{ ref('chat_inputs') }}

),

renamed as (

    select
        id as chat_input_id,
        chat_id,
        lower(trim(key)) as input_key,
        nullif(trim(value), '') as input_value,
        captured_at

    from source

)

select * from renamed
