-- Outputs of the orchestrations that have a sync-to-CRM step. Orchestrations without that step
-- (alerts, digests) never write to the CRM, so their outputs stop here.

with

outputs as (

    select * from {{ ref('stg_raw__orchestration_outputs') }}

),

orchestrations as (

    select * from {{ ref('stg_raw__orchestrations') }}
    where has_sync_to_crm_step

),

person_ids as (

    select * from {{ ref('int_person_ids') }}

),

raw_companies as (

    select company_id, domain from {{ ref('stg_raw__companies') }}

),

final as (

    select
        outputs.output_id,
        outputs.orchestration_id,
        orchestrations.orchestration_name,
        outputs.person_id,
        person_ids.email,
        case
            when outputs.person_id is not null then person_ids.company_domain
            else raw_companies.domain
        end as company_domain,
        outputs.signal_type,
        outputs.topic,
        outputs.produced_at

    from outputs
    inner join orchestrations on outputs.orchestration_id = orchestrations.orchestration_id
    left join person_ids on outputs.person_id = person_ids.person_id
    left join raw_companies on outputs.company_id = raw_companies.company_id

)

select * from final
