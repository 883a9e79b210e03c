"""zoomsync's Synapse destination as a dlt `Destination`: capabilities, configuration, client.

Capabilities differ from dlt's own `synapse` where our load design needs it: Parquet is the
loader format and no dlt staging destination is used (the job client stages its files
itself, one folder per load); timestamps are written with millisecond precision (COPY
documents Parquet MICROS/NANOS as unsupported); merges are delete-insert; DDL never runs
inside a transaction; identifiers are bracket-quoted.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from dlt.common.configuration import configspec
from dlt.common.destination import Destination, DestinationCapabilitiesContext
from dlt.common.destination.client import DestinationClientDwhConfiguration
from dlt.common.schema import Schema
from dlt.common.utils import digest128

from zoomsync.destinations.synapse.client import Loader, SynapseJobClient
from zoomsync.destinations.synapse.names import MAX_IDENTIFIER, literal, quote


@configspec
class SynapseLoaderConfiguration(DestinationClientDwhConfiguration):
    destination_type: Final[str] = dataclasses.field(  # type: ignore[misc]
        default="zoomsync_synapse", init=False, repr=False, compare=False)
    where: str | None = None  # user@server/database, no secret

    def fingerprint(self) -> str:
        return digest128(self.where) if self.where else ""


def _bracket(name: str) -> str:
    # names.quote also refuses a name Synapse would (over 128 characters), on dlt's paths too
    return quote(name)


def _mssql_literal(value: Any) -> str:
    return literal(str(value))


class SynapseLoaderDestination(Destination[SynapseLoaderConfiguration, SynapseJobClient]):
    """The destination; `loader` carries the connection, storage and load options."""

    spec = SynapseLoaderConfiguration

    def __init__(self, loader: Loader, where: str, **kwargs: Any) -> None:
        self.loader = loader
        super().__init__(where=where, destination_name="synapse", **kwargs)

    def _raw_capabilities(self) -> DestinationCapabilitiesContext:
        from dlt.destinations.impl.synapse.factory import SynapseTypeMapper

        caps = DestinationCapabilitiesContext()
        caps.preferred_loader_file_format = "parquet"
        # "reference": the family follow-up jobs' files (client.FamilyJobRequest)
        caps.supported_loader_file_formats = ["parquet", "reference"]
        caps.preferred_staging_file_format = None
        caps.supported_staging_file_formats = []
        caps.type_mapper = SynapseTypeMapper
        caps.escape_identifier = _bracket
        caps.escape_literal = _mssql_literal
        caps.has_case_sensitive_identifiers = False
        caps.decimal_precision = (38, 9)
        caps.wei_precision = (38, 0)
        caps.max_identifier_length = MAX_IDENTIFIER
        caps.max_column_identifier_length = MAX_IDENTIFIER
        caps.max_query_length = 65536 * 4096
        caps.is_max_query_length_in_bytes = True
        caps.max_text_data_type_length = 2 * 1024 * 1024 * 1024
        caps.is_max_text_data_type_length_in_bytes = True
        caps.supports_transactions = True
        caps.supports_ddl_transactions = False
        caps.supports_create_table_if_not_exists = False
        caps.supports_multiple_statements = False
        caps.timestamp_precision = 3
        caps.max_timestamp_precision = 7
        caps.supported_merge_strategies = ["delete-insert"]
        caps.supported_replace_strategies = ["truncate-and-insert"]
        caps.sqlglot_dialect = "tsql"
        return caps

    @property
    def client_class(self) -> type[SynapseJobClient]:
        return SynapseJobClient

    def client(self, schema: Schema,
               initial_config: SynapseLoaderConfiguration | None = None) -> SynapseJobClient:
        config = self.configuration(initial_config)
        caps = self.capabilities(config, schema.naming)
        schema.naming.max_length = MAX_IDENTIFIER
        return SynapseJobClient(schema, config, caps, self.loader)
