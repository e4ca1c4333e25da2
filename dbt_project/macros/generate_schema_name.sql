{# Use the schema names as written (staging, marts), not dbt's <target>_<custom> default:
   analysts and governance read `marts.*`. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
