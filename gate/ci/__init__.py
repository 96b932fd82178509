"""CI platforms: GitHub and GitLab adapters, workflow-command escaping; they read no env."""
