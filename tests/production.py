"""Plugin tables a production-mode test of the built-in plugins needs: well-formed push
codes that are not the development placeholders production refuses (made up for tests,
not any bureau's)."""

PRODUCTION_PLUGIN_SETTINGS = {
    "provincial_push": {"authority_uscc": "11331121MB12345678", "type_code": "11330000002482172J116"},
}
PRODUCTION_TOML = (
    '[plugins.provincial_push]\nauthority_uscc = "11331121MB12345678"\ntype_code = "11330000002482172J116"\n'
)
