"""Icons and stylesheets ship inside the installed package."""

from graphviz_app.ui import theme


def test_icons_and_styles_are_found_and_load(qapp):
    for name in ("app", "step", "continue", "abort", "restart", "open"):
        assert theme.resource("icons", f"{name}.svg").is_file(), name
        assert not theme.icon(name).isNull(), name
    for style in ("light", "dark"):
        assert theme.resource("styles", f"{style}.qss").read_text().strip()
