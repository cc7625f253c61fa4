"""Configuration shared by Django, the Faust workers and the command line."""
