"""The parts of `HfCroissantStack`, one concern each; the stack composes them.

- `storage`: the lake bucket and the ops bucket (Athena results, step logs);
- `catalog`: the Glue database and the Athena workgroup;
- `network`: the VPC (new or looked up), the task and database subnets, the security groups;
- `database`: PostgreSQL on RDS for the Dagster instance;
- `hub_token`: the Hugging Face token secret;
- `services`: log groups, the ECS cluster, task roles, the run task definition, the daemon and
  webserver services;
- `permissions`: the task roles' IAM policies;
- `public_webserver`: the opt-in internet-facing load balancer (HTTPS, allow-listed networks).

Each is a `logical_ids.Component`: its id stays out of its resources' logical ids, so the
grouping is free to change without replacing a deployed resource.
"""

from hf_croissant_cdk.components.catalog import Catalog
from hf_croissant_cdk.components.database import Database
from hf_croissant_cdk.components.hub_token import HubToken
from hf_croissant_cdk.components.network import Network
from hf_croissant_cdk.components.permissions import Permissions
from hf_croissant_cdk.components.public_webserver import PublicWebserver
from hf_croissant_cdk.components.services import DagsterServices
from hf_croissant_cdk.components.storage import Storage

__all__ = [
    "Catalog",
    "DagsterServices",
    "Database",
    "HubToken",
    "Network",
    "Permissions",
    "PublicWebserver",
    "Storage",
]
