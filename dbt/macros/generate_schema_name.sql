{#- Schemas are named as configured (staging, intermediate, marts, dq, reference), not prefixed
    with the target schema: BI tools and DESIGN.md's public interface use these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
