"""The co-hosted worker: several services' agents in one Faust app and process."""
