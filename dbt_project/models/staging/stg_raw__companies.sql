with

source as (

    select * from {{ ref('companies') }}

),

renamed as (

    select
        id as company_id,
        nullif(trim(name), '') as name,
        -- The domain column is often empty or messy; the website usually knows it.
        coalesce({{ normalize_domain('domain') }}, {{ normalize_domain('website') }}) as domain,
        nullif(trim(website), '') as website,
        nullif(trim(industry), '') as industry,
        employee_count,
        annual_revenue,
        nullif(trim(country), '') as country,
        nullif(trim(linkedin_url), '') as linkedin_url,
        -- How many facts the row knows: the most complete row wins when a domain repeats.
        (case when nullif(trim(name), '') is not null then 1 else 0 end)
        + (case when nullif(trim(domain), '') is not null then 1 else 0 end)
        + (case when nullif(trim(industry), '') is not null then 1 else 0 end)
        + (case when employee_count is not null then 1 else 0 end)
        + (case when annual_revenue is not null then 1 else 0 end)
        + (case when nullif(trim(country), '') is not null then 1 else 0 end)
        + (case when nullif(trim(linkedin_url), '') is not null then 1 else 0 end) as completeness

    from source

)

select * from renamed
