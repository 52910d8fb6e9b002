-- Chats with who had them and the answers captured in them (phone, use case, team size).

with

chats as (

    select * from {{ ref('stg_raw__chats') }}

),

chat_inputs as (

    select * from {{ ref('stg_raw__chat_inputs') }}
    where input_value is not null

),

raw_sessions as (

    select session_id, person_id, company_id from {{ ref('stg_raw__sessions') }}

),

person_ids as (

    select * from {{ ref('int_person_ids') }}

),

raw_companies as (

    select company_id, domain from {{ ref('stg_raw__companies') }}

),

-- The latest answer per chat and question: visitors correct themselves.
answers as (

    select
        chat_id,
        input_key,
        input_value

    from chat_inputs
    qualify row_number() over (
        partition by chat_id, input_key order by captured_at desc, chat_input_id desc
    ) = 1

),

pivoted as (

    select
        chat_id,
        max(case when input_key = 'phone' then input_value end) as phone,
        max(case when input_key = 'use_case' then input_value end) as use_case,
        max(case when input_key = 'team_size' then input_value end) as team_size

    from answers
    group by chat_id

),

final as (

    select
        chats.chat_id,
        chats.session_id,
        person_ids.email,
        coalesce(person_ids.company_domain, raw_companies.domain) as company_domain,
        chats.started_at,
        chats.message_count,
        chats.demo_requested,
        chats.is_engaged,
        pivoted.phone,
        pivoted.use_case,
        pivoted.team_size

    from chats
    left join raw_sessions on chats.session_id = raw_sessions.session_id
    left join person_ids on coalesce(chats.person_id, raw_sessions.person_id) = person_ids.person_id
    left join raw_companies on raw_sessions.company_id = raw_companies.company_id
    left join pivoted on chats.chat_id = pivoted.chat_id

)

select * from final
