with

source as (

    select * from {{ raw_source('companies') }}

),

renamed as (

    select
        id as company_id,
        {{ clean_text('name') }} as name,
        -- The domain column is often empty or messy; the website usually knows it.
        coalesce({{ normalize_domain('domain') }}, {{ normalize_domain('website') }}) as domain,
        {{ clean_text('website') }} as website,
        {{ clean_text('industry') }} as industry,
        employee_count,
        annual_revenue,
        {{ clean_text('country') }} as country,
        {{ clean_text('linkedin_url') }} as linkedin_url,
        -- How many facts the row knows: the most complete row wins when a domain repeats.
        (case when {{ clean_text('name') }} is not null then 1 else 0 end)
        + (case when {{ clean_text('domain') }} is not null then 1 else 0 end)
        + (case when {{ clean_text('industry') }} is not null then 1 else 0 end)
        + (case when employee_count is not null then 1 else 0 end)
        + (case when annual_revenue is not null then 1 else 0 end)
        + (case when {{ clean_text('country') }} is not null then 1 else 0 end)
        + (case when {{ clean_text('linkedin_url') }} is not null then 1 else 0 end) as completeness

    from source

)

select * from renamed
