"""The rule engine: rule files -> Ruleset -> Verdict. The rule data lives in ./rules/."""
