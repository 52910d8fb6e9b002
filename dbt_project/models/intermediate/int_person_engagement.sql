-- Warmly data per person (normalised email): visits, pages, referrers, chats, intent.
-- Facts of every raw id of the person count, so a person seen twice is not split in two.

with

sessions as (

    select * from {{ ref('int_sessions') }}
    where email is not null

),

page_views as (

    select * from {{ ref('int_page_views') }}
    where email is not null

),

chats as (

    select * from {{ ref('int_chats') }}
    where email is not null and is_engaged

),

chat_inputs as (

    select * from {{ ref('stg_raw__chat_inputs') }}
    where input_key is not null and input_value is not null

),

outputs as (

    select * from {{ ref('int_orchestration_outputs') }}
    where email is not null

),

session_facts as (

    select
        email,
        count(*) as session_count,
        sum(page_view_count) as page_view_count,
        min(first_viewed_at) as first_seen_at,
        max(last_viewed_at) as last_seen_at

    from sessions
    group by email

),

page_counts as (

    select
        email,
        page_path,
        count(*) as views,
        row_number() over (partition by email order by count(*) desc, page_path) as page_rank

    from page_views
    group by email, page_path

),

top_pages as (

    select
        email,
        {{ dbt.listagg('page_path', "', '", 'order by views desc, page_path') }} as top_pages

    from page_counts
    where page_rank <= 5
    group by email

),

last_referrers as (

    select email, referrer as last_referrer
    from sessions
    where referrer is not null
    qualify row_number() over (partition by email order by started_at desc, session_id desc) = 1

),

last_utm_sources as (

    select email, utm_source as last_utm_source
    from sessions
    where utm_source is not null
    qualify row_number() over (partition by email order by started_at desc, session_id desc) = 1

),

chat_facts as (

    select
        email,
        count(*) as chat_count,
        {{ dbt.bool_or('demo_requested') }} as demo_requested,
        max(started_at) as last_chat_at

    from chats
    group by email

),

phones as (

    select email, phone
    from chats
    where phone is not null
    qualify row_number() over (partition by email order by started_at desc, chat_id desc) = 1

),

use_cases as (

    select email, use_case as chat_use_case
    from chats
    where use_case is not null
    qualify row_number() over (partition by email order by started_at desc, chat_id desc) = 1

),

-- Every question's latest answer, whatever the question: from the latest engaged chat that
-- answered it (as phone and use case above), that chat's last capture (visitors correct
-- themselves); one JSON object per person: {"team_size": "51-200", "use_case": "..."}.
person_answers as (

    select
        chats.email,
        chat_inputs.input_key,
        chat_inputs.input_value

    from chats
    inner join chat_inputs on chats.chat_id = chat_inputs.chat_id
    qualify row_number() over (
        partition by chats.email, chat_inputs.input_key
        order by chats.started_at desc, chats.chat_id desc, chat_inputs.captured_at desc, chat_inputs.chat_input_id desc
    ) = 1

),

answers as (

    select
        email,
        {{ json_object_agg('input_key', 'input_value') }} as chat_answers

    from person_answers
    group by email

),

intent as (

    select
        email,
        signal_type as intent_signal,
        topic as intent_topic,
        produced_at as intent_signal_at

    from outputs
    qualify row_number() over (partition by email order by produced_at desc, output_id desc) = 1

),

emails as (

    select email from session_facts
    union
    select email from chat_facts
    union
    select email from intent

),

final as (

    select
        emails.email,
        session_facts.first_seen_at,
        session_facts.last_seen_at,
        coalesce(session_facts.session_count, 0) as session_count,
        coalesce(session_facts.page_view_count, 0) as page_view_count,
        top_pages.top_pages,
        last_referrers.last_referrer,
        last_utm_sources.last_utm_source,
        coalesce(chat_facts.chat_count, 0) as chat_count,
        coalesce(chat_facts.demo_requested, false) as demo_requested,
        chat_facts.last_chat_at,
        phones.phone,
        use_cases.chat_use_case,
        answers.chat_answers,
        intent.intent_signal,
        intent.intent_topic,
        intent.intent_signal_at

    from emails
    left join session_facts on emails.email = session_facts.email
    left join top_pages on emails.email = top_pages.email
    left join last_referrers on emails.email = last_referrers.email
    left join last_utm_sources on emails.email = last_utm_sources.email
    left join chat_facts on emails.email = chat_facts.email
    left join phones on emails.email = phones.email
    left join use_cases on emails.email = use_cases.email
    left join answers on emails.email = answers.email
    left join intent on emails.email = intent.email

)

select * from final
