with

source as (

    select * from {{ raw_source('chat_inputs') }}

),

renamed as (

    select
        id as chat_input_id,
        chat_id,
        lower({{ clean_text('key') }}) as input_key,
        {{ clean_text('value') }} as input_value,
        captured_at

    from source

)

select * from renamed
