"""The only shell: parsing, the subcommands, files, stdout and the exit code."""
