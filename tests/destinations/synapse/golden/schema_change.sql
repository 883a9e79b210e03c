-- schema_change: After a first load, Zoom sends a new users field (zoom_workplace_plan) and a
-- list never seen (custom_attributes -> a new child table).
-- Recorded from the real client (zoomsync's dlt destination run against the pool
-- stand-in and Azurite), volatile text normalised: see recording.py. Regenerate
-- with .venv/bin/python -m tests.destinations.synapse.golden; do not edit.

SELECT [name], [collation_name], [is_read_committed_snapshot_on] FROM sys.databases WHERE [name] = DB_NAME();

SELECT TOP (1) [version], [engine_version], [pipeline_name], [state], [created_at], [_dlt_load_id] FROM [zoom].[_dlt_pipeline_state] AS s JOIN [zoom].[_dlt_loads] AS l ON l.[load_id] = s.[_dlt_load_id] WHERE [pipeline_name] = N'zoomsync_7a26eaaa12' AND l.[status] = 0 ORDER BY [load_id] DESC;

SELECT 1 FROM sys.schemas WHERE name = N'zoom';

SELECT TOP (1) [version], [engine_version], [inserted_at], [schema_name], [version_hash], [schema] FROM [zoom].[_dlt_version] WHERE [version_hash] = N'SCHEMA_HASH_2';

SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_NULLABLE, NUMERIC_PRECISION, NUMERIC_SCALE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = N'zoom' AND TABLE_NAME IN (N'_dlt_version', N'users__group_ids', N'users', N'users__phone_numbers', N'users__custom_attributes', N'_dlt_loads', N'_dlt_pipeline_state') ORDER BY TABLE_NAME, ORDINAL_POSITION;

SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'zoom' AND TABLE_NAME = 'users' ORDER BY TABLE_NAME, ORDINAL_POSITION;

SELECT i.[type_desc] FROM sys.tables AS t JOIN sys.indexes AS i ON i.[object_id] = t.[object_id] WHERE SCHEMA_NAME(t.[schema_id]) = 'zoom' AND t.[name] = 'users' AND i.[index_id] < 2;

ALTER TABLE [zoom].[users] ADD [zoom_workplace_plan] nvarchar(max) NULL;

CREATE TABLE [zoom].[users__custom_attributes] (
    [key] nvarchar(max) NULL,
    [name] nvarchar(max) NULL,
    [value] nvarchar(max) NULL,
    [_dlt_root_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_dlt_parent_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_dlt_list_idx] bigint NOT NULL,
    [_dlt_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL
)
WITH (DISTRIBUTION = REPLICATE, CLUSTERED INDEX ([_dlt_root_id]));

INSERT INTO [zoom].[_dlt_version]([version], [engine_version], [inserted_at], [schema_name], [version_hash], [schema]) SELECT 3, 11, 'TIMESTAMP', N'zoom', N'SCHEMA_HASH_2', N'SCHEMA_JSON' WHERE NOT EXISTS (SELECT 1 FROM [zoom].[_dlt_version] WHERE [version_hash] = N'SCHEMA_HASH_2');

SELECT 1 FROM sys.schemas WHERE name = 'zoom_staging';

SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'zoom' ORDER BY TABLE_NAME, ORDINAL_POSITION;

SELECT [rows] FROM [zoom].[zoomsync_loads] WHERE [load_id] = 'LOAD_2' AND [table_family] = 'users';

IF OBJECT_ID('[zoom_staging].[users__LOAD_2]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[users__LOAD_2];

CREATE TABLE [zoom_staging].[users__LOAD_2] (
    [account_id] nvarchar(max) NULL,
    [account_number] bigint NULL,
    [cluster] nvarchar(max) NULL,
    [cms_user_id] nvarchar(max) NULL,
    [company] nvarchar(max) NULL,
    [cost_center] nvarchar(max) NULL,
    [created_at] datetime2(3) NULL,
    [dept] nvarchar(max) NULL,
    [display_name] nvarchar(max) NULL,
    [email] nvarchar(max) NULL,
    [employee_unique_id] nvarchar(max) NULL,
    [first_name] nvarchar(max) NULL,
    [id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [jid] nvarchar(max) NULL,
    [job_title] nvarchar(max) NULL,
    [language] nvarchar(max) NULL,
    [last_client_version] nvarchar(max) NULL,
    [last_login_time] datetime2(3) NULL,
    [last_name] nvarchar(max) NULL,
    [location] nvarchar(max) NULL,
    [manager] nvarchar(max) NULL,
    [personal_meeting_url] nvarchar(max) NULL,
    [phone_country] nvarchar(max) NULL,
    [phone_number] nvarchar(max) NULL,
    [pic_url] nvarchar(max) NULL,
    [plan_united_type] nvarchar(max) NULL,
    [pmi] bigint NULL,
    [pronouns] nvarchar(max) NULL,
    [pronouns_option] bigint NULL,
    [role_id] nvarchar(max) NULL,
    [role_name] nvarchar(max) NULL,
    [status] nvarchar(max) NULL,
    [timezone] nvarchar(max) NULL,
    [type] bigint NULL,
    [use_pmi] bit NULL,
    [user_created_at] datetime2(3) NULL,
    [vanity_url] nvarchar(max) NULL,
    [verified] bigint NULL,
    [zoom_one_type] bigint NULL,
    [_zoomsync_deleted_at] datetime2(3) NULL,
    [_zoomsync_read_order] bigint NULL,
    [_dlt_load_id] nvarchar(64) NOT NULL,
    [_dlt_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [zoom_workplace_plan] nvarchar(max) NULL,
    [_zoomsync_seq] bigint NOT NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, HEAP);

COPY INTO [zoom_staging].[users__LOAD_2]
FROM 'https://STORAGE_ACCOUNT.blob.core.windows.net/CONTAINER/zoomsync/zoom/LOAD_2/users/*.parquet'
WITH (FILE_TYPE = 'PARQUET', CREDENTIAL = (IDENTITY = 'Shared Access Signature', SECRET = 'PLACEHOLDER'), AUTO_CREATE_TABLE = 'OFF');

IF OBJECT_ID('[zoom_staging].[users__custom_attributes__LOAD_2]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[users__custom_attributes__LOAD_2];

CREATE TABLE [zoom_staging].[users__custom_attributes__LOAD_2] (
    [key] nvarchar(max) NULL,
    [name] nvarchar(max) NULL,
    [value] nvarchar(max) NULL,
    [_dlt_root_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_dlt_parent_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_dlt_list_idx] bigint NOT NULL,
    [_dlt_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_zoomsync_seq] bigint NOT NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, HEAP);

COPY INTO [zoom_staging].[users__custom_attributes__LOAD_2]
FROM 'https://STORAGE_ACCOUNT.blob.core.windows.net/CONTAINER/zoomsync/zoom/LOAD_2/users__custom_attributes/*.parquet'
WITH (FILE_TYPE = 'PARQUET', CREDENTIAL = (IDENTITY = 'Shared Access Signature', SECRET = 'PLACEHOLDER'), AUTO_CREATE_TABLE = 'OFF');

IF OBJECT_ID('[zoom_staging].[users__group_ids__LOAD_2]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[users__group_ids__LOAD_2];

CREATE TABLE [zoom_staging].[users__group_ids__LOAD_2] (
    [value] nvarchar(max) NULL,
    [_dlt_root_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_dlt_parent_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_dlt_list_idx] bigint NOT NULL,
    [_dlt_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_zoomsync_seq] bigint NOT NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, HEAP);

COPY INTO [zoom_staging].[users__group_ids__LOAD_2]
FROM 'https://STORAGE_ACCOUNT.blob.core.windows.net/CONTAINER/zoomsync/zoom/LOAD_2/users__group_ids/*.parquet'
WITH (FILE_TYPE = 'PARQUET', CREDENTIAL = (IDENTITY = 'Shared Access Signature', SECRET = 'PLACEHOLDER'), AUTO_CREATE_TABLE = 'OFF');

IF OBJECT_ID('[zoom_staging].[users__phone_numbers__LOAD_2]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[users__phone_numbers__LOAD_2];

CREATE TABLE [zoom_staging].[users__phone_numbers__LOAD_2] (
    [code] nvarchar(max) NULL,
    [country] nvarchar(max) NULL,
    [label] nvarchar(max) NULL,
    [number] nvarchar(max) NULL,
    [verified] bit NULL,
    [_dlt_root_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_dlt_parent_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_dlt_list_idx] bigint NOT NULL,
    [_dlt_id] nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    [_zoomsync_seq] bigint NOT NULL
)
WITH (DISTRIBUTION = ROUND_ROBIN, HEAP);

COPY INTO [zoom_staging].[users__phone_numbers__LOAD_2]
FROM 'https://STORAGE_ACCOUNT.blob.core.windows.net/CONTAINER/zoomsync/zoom/LOAD_2/users__phone_numbers/*.parquet'
WITH (FILE_TYPE = 'PARQUET', CREDENTIAL = (IDENTITY = 'Shared Access Signature', SECRET = 'PLACEHOLDER'), AUTO_CREATE_TABLE = 'OFF');

BEGIN TRANSACTION;

DELETE FROM [zoom].[users__custom_attributes] WHERE [_dlt_root_id] IN (SELECT t.[_dlt_id] FROM [zoom].[users] AS t WHERE EXISTS (SELECT 1 FROM [zoom_staging].[users__LOAD_2] AS s WHERE s.[id] = t.[id]));

DELETE FROM [zoom].[users__group_ids] WHERE [_dlt_root_id] IN (SELECT t.[_dlt_id] FROM [zoom].[users] AS t WHERE EXISTS (SELECT 1 FROM [zoom_staging].[users__LOAD_2] AS s WHERE s.[id] = t.[id]));

DELETE FROM [zoom].[users__phone_numbers] WHERE [_dlt_root_id] IN (SELECT t.[_dlt_id] FROM [zoom].[users] AS t WHERE EXISTS (SELECT 1 FROM [zoom_staging].[users__LOAD_2] AS s WHERE s.[id] = t.[id]));

DELETE FROM [zoom].[users] WHERE EXISTS (SELECT 1 FROM [zoom_staging].[users__LOAD_2] AS s WHERE s.[id] = [zoom].[users].[id]);

INSERT INTO [zoom].[users] ([account_id], [account_number], [cluster], [cms_user_id], [company], [cost_center], [created_at], [dept], [display_name], [email], [employee_unique_id], [first_name], [id], [jid], [job_title], [language], [last_client_version], [last_login_time], [last_name], [location], [manager], [personal_meeting_url], [phone_country], [phone_number], [pic_url], [plan_united_type], [pmi], [pronouns], [pronouns_option], [role_id], [role_name], [status], [timezone], [type], [use_pmi], [user_created_at], [vanity_url], [verified], [zoom_one_type], [_zoomsync_deleted_at], [_zoomsync_read_order], [_dlt_load_id], [_dlt_id], [zoom_workplace_plan]) SELECT [account_id], [account_number], [cluster], [cms_user_id], [company], [cost_center], [created_at], [dept], [display_name], [email], [employee_unique_id], [first_name], [id], [jid], [job_title], [language], [last_client_version], [last_login_time], [last_name], [location], [manager], [personal_meeting_url], [phone_country], [phone_number], [pic_url], [plan_united_type], [pmi], [pronouns], [pronouns_option], [role_id], [role_name], [status], [timezone], [type], [use_pmi], [user_created_at], [vanity_url], [verified], [zoom_one_type], [_zoomsync_deleted_at], [_zoomsync_read_order], [_dlt_load_id], [_dlt_id], [zoom_workplace_plan] FROM (SELECT [account_id], [account_number], [cluster], [cms_user_id], [company], [cost_center], [created_at], [dept], [display_name], [email], [employee_unique_id], [first_name], [id], [jid], [job_title], [language], [last_client_version], [last_login_time], [last_name], [location], [manager], [personal_meeting_url], [phone_country], [phone_number], [pic_url], [plan_united_type], [pmi], [pronouns], [pronouns_option], [role_id], [role_name], [status], [timezone], [type], [use_pmi], [user_created_at], [vanity_url], [verified], [zoom_one_type], [_zoomsync_deleted_at], [_zoomsync_read_order], [_dlt_load_id], [_dlt_id], [zoom_workplace_plan], ROW_NUMBER() OVER (PARTITION BY [id] ORDER BY [_zoomsync_read_order] DESC, [_zoomsync_seq] DESC) AS [_zoomsync_rn] FROM [zoom_staging].[users__LOAD_2]) AS w WHERE w.[_zoomsync_rn] = 1;

INSERT INTO [zoom].[users__custom_attributes] ([key], [name], [value], [_dlt_root_id], [_dlt_parent_id], [_dlt_list_idx], [_dlt_id]) SELECT [key], [name], [value], [_dlt_root_id], [_dlt_parent_id], [_dlt_list_idx], [_dlt_id] FROM [zoom_staging].[users__custom_attributes__LOAD_2] AS c WHERE c.[_dlt_root_id] IN (SELECT w.[_dlt_id] FROM (SELECT [_dlt_id], ROW_NUMBER() OVER (PARTITION BY [id] ORDER BY [_zoomsync_read_order] DESC, [_zoomsync_seq] DESC) AS [_zoomsync_rn] FROM [zoom_staging].[users__LOAD_2]) AS w WHERE w.[_zoomsync_rn] = 1);

INSERT INTO [zoom].[users__group_ids] ([value], [_dlt_root_id], [_dlt_parent_id], [_dlt_list_idx], [_dlt_id]) SELECT [value], [_dlt_root_id], [_dlt_parent_id], [_dlt_list_idx], [_dlt_id] FROM [zoom_staging].[users__group_ids__LOAD_2] AS c WHERE c.[_dlt_root_id] IN (SELECT w.[_dlt_id] FROM (SELECT [_dlt_id], ROW_NUMBER() OVER (PARTITION BY [id] ORDER BY [_zoomsync_read_order] DESC, [_zoomsync_seq] DESC) AS [_zoomsync_rn] FROM [zoom_staging].[users__LOAD_2]) AS w WHERE w.[_zoomsync_rn] = 1);

INSERT INTO [zoom].[users__phone_numbers] ([code], [country], [label], [number], [verified], [_dlt_root_id], [_dlt_parent_id], [_dlt_list_idx], [_dlt_id]) SELECT [code], [country], [label], [number], [verified], [_dlt_root_id], [_dlt_parent_id], [_dlt_list_idx], [_dlt_id] FROM [zoom_staging].[users__phone_numbers__LOAD_2] AS c WHERE c.[_dlt_root_id] IN (SELECT w.[_dlt_id] FROM (SELECT [_dlt_id], ROW_NUMBER() OVER (PARTITION BY [id] ORDER BY [_zoomsync_read_order] DESC, [_zoomsync_seq] DESC) AS [_zoomsync_rn] FROM [zoom_staging].[users__LOAD_2]) AS w WHERE w.[_zoomsync_rn] = 1);

INSERT INTO [zoom].[zoomsync_loads] ([load_id], [table_family], [rows], [committed_at]) SELECT 'LOAD_2', 'users', COUNT(*), SYSUTCDATETIME() FROM (SELECT [id] FROM [zoom_staging].[users__LOAD_2] GROUP BY [id]) AS k;

COMMIT TRANSACTION;

IF OBJECT_ID('[zoom_staging].[users__LOAD_2]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[users__LOAD_2];

IF OBJECT_ID('[zoom_staging].[users__custom_attributes__LOAD_2]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[users__custom_attributes__LOAD_2];

IF OBJECT_ID('[zoom_staging].[users__group_ids__LOAD_2]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[users__group_ids__LOAD_2];

IF OBJECT_ID('[zoom_staging].[users__phone_numbers__LOAD_2]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[users__phone_numbers__LOAD_2];

INSERT INTO [zoom].[_dlt_loads]([load_id], [schema_name], [status], [inserted_at], [schema_version_hash]) SELECT N'LOAD_2', N'zoom', 0, 'TIMESTAMP', N'SCHEMA_HASH_2' WHERE NOT EXISTS (SELECT 1 FROM [zoom].[_dlt_loads] WHERE [load_id] = N'LOAD_2');
