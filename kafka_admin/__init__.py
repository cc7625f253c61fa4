"""The one place for Kafka admin code: the admin-client factory (`client`), topics
(ensure, describe, delete-and-wait: `topics`), consumer groups (the one DescribeGroups
decoder: `groups`), offsets (committed, end, lag, resets: `offsets`) and the one
producer factory (`producer`).

It imports only `contracts`, `config`, aiokafka and the standard library; every layer
above (streaming, the workers, the gateway, the dashboard, the harness, the CLI) uses it.
"""
