"""The HTML pages, one module per resource (the way Zulip's zerver/views/ is laid out):
spaces, thoughts (the space page), links, tokens, explore (graph, search, a thought's page),
agents (proposals and the agent guide), archive (export, import, the space as it was),
conflicts and accounts (sign-up, invitations, the account page). Each view parses input with
a form, checks access through the selectors and calls one service; spaces/urls.py maps them.
"""
