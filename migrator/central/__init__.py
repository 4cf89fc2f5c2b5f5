"""The central-chart loop: what blocks the fleet, by kind, and what the central chart must learn.

`classify` turns a chart's remaining differences into customization kinds with their evidence;
`gaps` ranks the kinds across the fleet and orders the features that unblock the most repos.
"""
