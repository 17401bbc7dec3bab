"""The template loader for tests: the project's one loader lives in ``local/cloudformation.py``.

Tests may import ``local/``; the product never imports ``tests/``.  Kept so test modules keep one
short import path.
"""

from local.cloudformation import (
    PSEUDO_PARAMETERS,
    TEMPLATE_PATH,
    AwsClient,
    CloudFormationLoader,
    Resolver,
    Template,
    create_all_tables,
    create_kms_key_from_template,
    create_secret_from_template,
    create_table_from_template,
    function_environment,
    load_template,
    parse_template,
    resource,
    resources_of_type,
    table_logical_ids,
    table_request,
)

__all__ = [
    "PSEUDO_PARAMETERS",
    "TEMPLATE_PATH",
    "AwsClient",
    "CloudFormationLoader",
    "Resolver",
    "Template",
    "create_all_tables",
    "create_kms_key_from_template",
    "create_secret_from_template",
    "create_table_from_template",
    "function_environment",
    "load_template",
    "parse_template",
    "resource",
    "resources_of_type",
    "table_logical_ids",
    "table_request",
]
