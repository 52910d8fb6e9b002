-- Every orchestration named in segment_outbound_agent exists. A misspelt id would leave the real
-- orchestration without its audience and people steps, so everyone it picks would be written.

{% set orchestrations = segment_for('outbound_agent').get('orchestrations') or {} %}

with

orchestrations as (

    select orchestration_id from {{ ref('stg_raw__orchestrations') }}

),

configured as (

    {% for orchestration_id in orchestrations %}
    select {{ sql_string(orchestration_id) }} as orchestration_id
    {% if not loop.last %}union all{% endif %}
    {% else %}
    select cast(null as varchar) as orchestration_id
    {% endfor %}

),

final as (

    select configured.orchestration_id
    from configured
    left join orchestrations on configured.orchestration_id = orchestrations.orchestration_id
    where configured.orchestration_id is not null
        and orchestrations.orchestration_id is null

)

select * from final
