with

source as (

    select * from {{ raw_source('chats') }}

),

renamed as (

    select
        id as chat_id,
        session_id,
        person_id,
        started_at,
        coalesce(message_count, 0) as message_count,
        coalesce(demo_requested, false) as demo_requested,
        -- Opening the chat widget is not engagement; a message or a demo request is.
        coalesce(message_count, 0) > 0 or coalesce(demo_requested, false) as is_engaged

    from source

)

select * from renamed
