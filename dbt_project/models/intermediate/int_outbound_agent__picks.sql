-- The orchestration outputs the outbound_agent workflow writes: one row per output that passed
-- its orchestration's audience step (company rules) and, for persons, its people step (person
-- rules). Only orchestrations with a sync-to-CRM step reach this model. Depends on the
-- segment_outbound_agent var and on nothing of the other workflows.

with

outputs as (

    select * from {{ ref('int_orchestration_outputs') }}

),

persons as (

    select * from {{ ref('int_persons') }}

),

companies as (

    select * from {{ ref('int_companies') }}

),

person_picks as (

    select
        outputs.output_id,
        outputs.orchestration_id,
        person.email,
        person.company_domain,
        outputs.signal_type,
        outputs.topic,
        outputs.produced_at

    from outputs
    inner join persons as person on outputs.email = person.email
    left join companies as company on person.company_domain = company.domain
    where {{ outbound_segment('person', 'outputs.orchestration_id') }}

),

company_picks as (

    select
        outputs.output_id,
        outputs.orchestration_id,
        cast(null as varchar) as email,
        company.domain as company_domain,
        outputs.signal_type,
        outputs.topic,
        outputs.produced_at

    from outputs
    inner join companies as company on outputs.company_domain = company.domain
    where outputs.person_id is null
        and {{ outbound_segment('company', 'outputs.orchestration_id') }}

),

final as (

    select * from person_picks
    union all
    select * from company_picks

)

select * from final
