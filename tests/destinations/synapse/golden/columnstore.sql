-- columnstore: ZOOMSYNC_SYNAPSE_LAYOUT makes meeting_participants a CLUSTERED COLUMNSTORE
-- INDEX with lengths for its text columns; a first load.
-- Recorded from the real client (zoomsync's dlt destination run against the pool
-- stand-in and Azurite), volatile text normalised: see recording.py. Regenerate
-- with .venv/bin/python -m tests.destinations.synapse.golden; do not edit.

SELECT [name], [collation_name], [is_read_committed_snapshot_on] FROM sys.databases WHERE [name] = DB_NAME();

SELECT TOP (1) [version], [engine_version], [pipeline_name], [state], [created_at], [_dlt_load_id] FROM [zoom].[_dlt_pipeline_state] AS s JOIN [zoom].[_dlt_loads] AS l ON l.[load_id] = s.[_dlt_load_id] WHERE [pipeline_name] = N'zoomsync_7a26eaaa12' AND l.[status] = 0 ORDER BY [load_id] DESC;

SELECT 1 FROM sys.schemas WHERE name = N'zoom';

CREATE SCHEMA [zoom];

SELECT TOP (1) [version], [engine_version], [inserted_at], [schema_name], [version_hash], [schema] FROM [zoom].[_dlt_version] WHERE [version_hash] = N'SCHEMA_HASH_1';

SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_NULLABLE, NUMERIC_PRECISION, NUMERIC_SCALE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = N'zoom' AND TABLE_NAME IN (N'_dlt_version', N'meeting_participants', N'_dlt_loads', N'_dlt_pipeline_state') ORDER BY TABLE_NAME, ORDINAL_POSITION;

CREATE TABLE [zoom].[_dlt_version] (
    [version] bigint NOT NULL,
    [engine_version] bigint NOT NULL,
    [inserted_at] datetime2(3) NOT NULL,
    [schema_name] nvarchar(128) NOT NULL,
    [version_hash] nvarchar(64) NOT NULL,
    [schema] nvarchar(max) NOT NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, HEAP);

CREATE TABLE [zoom].[meeting_participants] (
    [duration] bigint NULL,
    [failover] bit NULL,
    [id] nvarchar(256) NULL,
    [internal_user] bit NULL,
    [join_time] datetime2(3) NOT NULL,
    [leave_time] datetime2(3) NULL,
    [meeting_uuid] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [name] nvarchar(256) NULL,
    [registrant_id] nvarchar(256) NULL,
    [status] nvarchar(256) NULL,
    [user_email] nvarchar(256) NULL,
    [user_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_zoomsync_deleted_at] datetime2(3) NULL,
    [_zoomsync_read_order] bigint NULL,
    [_dlt_load_id] nvarchar(64) NOT NULL,
    [_dlt_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL
)
WITH (DISTRIBUTION = HASH([meeting_uuid]), CLUSTERED COLUMNSTORE INDEX);

CREATE TABLE [zoom].[_dlt_loads] (
    [load_id] nvarchar(64) NOT NULL,
    [schema_name] nvarchar(128) NULL,
    [status] bigint NOT NULL,
    [inserted_at] datetime2(3) NOT NULL,
    [schema_version_hash] nvarchar(64) NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, HEAP);

CREATE TABLE [zoom].[_dlt_pipeline_state] (
    [version] bigint NOT NULL,
    [engine_version] bigint NOT NULL,
    [pipeline_name] nvarchar(128) NOT NULL,
    [state] nvarchar(max) NOT NULL,
    [created_at] datetime2(3) NOT NULL,
    [version_hash] nvarchar(64) NULL,
    [_dlt_load_id] nvarchar(64) NOT NULL,
    [_dlt_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, HEAP);

INSERT INTO [zoom].[_dlt_version]([version], [engine_version], [inserted_at], [schema_name], [version_hash], [schema]) SELECT 2, 11, 'TIMESTAMP', N'zoom', N'SCHEMA_HASH_1', N'SCHEMA_JSON' WHERE NOT EXISTS (SELECT 1 FROM [zoom].[_dlt_version] WHERE [version_hash] = N'SCHEMA_HASH_1');

SELECT 1 FROM sys.schemas WHERE name = 'zoom_staging';

CREATE SCHEMA [zoom_staging];

SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'zoom' ORDER BY TABLE_NAME, ORDINAL_POSITION;

CREATE TABLE [zoom].[zoomsync_loads] (
    [load_id] nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [table_family] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [rows] bigint NOT NULL,
    [committed_at] datetime2(3) NOT NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, CLUSTERED INDEX ([load_id], [table_family]));

SELECT [rows] FROM [zoom].[zoomsync_loads] WHERE [load_id] = 'LOAD_1' AND [table_family] = '_dlt_pipeline_state';

IF OBJECT_ID('[zoom_staging].[_dlt_pipeline_state__LOAD_1]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[_dlt_pipeline_state__LOAD_1];

CREATE TABLE [zoom_staging].[_dlt_pipeline_state__LOAD_1] (
    [version] bigint NOT NULL,
    [engine_version] bigint NOT NULL,
    [pipeline_name] nvarchar(128) NOT NULL,
    [state] nvarchar(max) NOT NULL,
    [created_at] datetime2(3) NOT NULL,
    [version_hash] nvarchar(64) NULL,
    [_dlt_load_id] nvarchar(64) NOT NULL,
    [_dlt_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_zoomsync_seq] bigint NOT NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, HEAP);

COPY INTO [zoom_staging].[_dlt_pipeline_state__LOAD_1]
FROM 'https://STORAGE_ACCOUNT.blob.core.windows.net/CONTAINER/zoomsync/zoom/LOAD_1/_dlt_pipeline_state/*.parquet'
WITH (FILE_TYPE = 'PARQUET', CREDENTIAL = (IDENTITY = 'Shared Access Signature', SECRET = 'PLACEHOLDER'), AUTO_CREATE_TABLE = 'OFF');

BEGIN TRANSACTION;

INSERT INTO [zoom].[_dlt_pipeline_state] ([version], [engine_version], [pipeline_name], [state], [created_at], [version_hash], [_dlt_load_id], [_dlt_id]) SELECT [version], [engine_version], [pipeline_name], [state], [created_at], [version_hash], [_dlt_load_id], [_dlt_id] FROM [zoom_staging].[_dlt_pipeline_state__LOAD_1];

INSERT INTO [zoom].[zoomsync_loads] ([load_id], [table_family], [rows], [committed_at]) SELECT 'LOAD_1', '_dlt_pipeline_state', COUNT(*), SYSUTCDATETIME() FROM [zoom_staging].[_dlt_pipeline_state__LOAD_1];

COMMIT TRANSACTION;

IF OBJECT_ID('[zoom_staging].[_dlt_pipeline_state__LOAD_1]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[_dlt_pipeline_state__LOAD_1];

SELECT [rows] FROM [zoom].[zoomsync_loads] WHERE [load_id] = 'LOAD_1' AND [table_family] = 'meeting_participants';

IF OBJECT_ID('[zoom_staging].[meeting_participants__LOAD_1]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[meeting_participants__LOAD_1];

CREATE TABLE [zoom_staging].[meeting_participants__LOAD_1] (
    [duration] bigint NULL,
    [failover] bit NULL,
    [id] nvarchar(256) NULL,
    [internal_user] bit NULL,
    [join_time] datetime2(3) NOT NULL,
    [leave_time] datetime2(3) NULL,
    [meeting_uuid] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [name] nvarchar(256) NULL,
    [registrant_id] nvarchar(256) NULL,
    [status] nvarchar(256) NULL,
    [user_email] nvarchar(256) NULL,
    [user_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_zoomsync_deleted_at] datetime2(3) NULL,
    [_zoomsync_read_order] bigint NULL,
    [_dlt_load_id] nvarchar(64) NOT NULL,
    [_dlt_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_zoomsync_seq] bigint NOT NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, HEAP);

COPY INTO [zoom_staging].[meeting_participants__LOAD_1]
FROM 'https://STORAGE_ACCOUNT.blob.core.windows.net/CONTAINER/zoomsync/zoom/LOAD_1/meeting_participants/*.parquet'
WITH (FILE_TYPE = 'PARQUET', CREDENTIAL = (IDENTITY = 'Shared Access Signature', SECRET = 'PLACEHOLDER'), AUTO_CREATE_TABLE = 'OFF');

BEGIN TRANSACTION;

DELETE FROM [zoom].[meeting_participants] WHERE EXISTS (SELECT 1 FROM [zoom_staging].[meeting_participants__LOAD_1] AS s WHERE s.[join_time] = [zoom].[meeting_participants].[join_time] AND s.[meeting_uuid] = [zoom].[meeting_participants].[meeting_uuid] AND s.[user_id] = [zoom].[meeting_participants].[user_id]);

INSERT INTO [zoom].[meeting_participants] ([duration], [failover], [id], [internal_user], [join_time], [leave_time], [meeting_uuid], [name], [registrant_id], [status], [user_email], [user_id], [_zoomsync_deleted_at], [_zoomsync_read_order], [_dlt_load_id], [_dlt_id]) SELECT [duration], [failover], [id], [internal_user], [join_time], [leave_time], [meeting_uuid], [name], [registrant_id], [status], [user_email], [user_id], [_zoomsync_deleted_at], [_zoomsync_read_order], [_dlt_load_id], [_dlt_id] FROM (SELECT [duration], [failover], [id], [internal_user], [join_time], [leave_time], [meeting_uuid], [name], [registrant_id], [status], [user_email], [user_id], [_zoomsync_deleted_at], [_zoomsync_read_order], [_dlt_load_id], [_dlt_id], ROW_NUMBER() OVER (PARTITION BY [join_time], [meeting_uuid], [user_id] ORDER BY [_zoomsync_read_order] DESC, [_zoomsync_seq] DESC) AS [_zoomsync_rn] FROM [zoom_staging].[meeting_participants__LOAD_1]) AS w WHERE w.[_zoomsync_rn] = 1;

INSERT INTO [zoom].[zoomsync_loads] ([load_id], [table_family], [rows], [committed_at]) SELECT 'LOAD_1', 'meeting_participants', COUNT(*), SYSUTCDATETIME() FROM (SELECT [join_time], [meeting_uuid], [user_id] FROM [zoom_staging].[meeting_participants__LOAD_1] GROUP BY [join_time], [meeting_uuid], [user_id]) AS k;

COMMIT TRANSACTION;

IF OBJECT_ID('[zoom_staging].[meeting_participants__LOAD_1]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[meeting_participants__LOAD_1];

INSERT INTO [zoom].[_dlt_loads]([load_id], [schema_name], [status], [inserted_at], [schema_version_hash]) SELECT N'LOAD_1', N'zoom', 0, 'TIMESTAMP', N'SCHEMA_HASH_1' WHERE NOT EXISTS (SELECT 1 FROM [zoom].[_dlt_loads] WHERE [load_id] = N'LOAD_1');
