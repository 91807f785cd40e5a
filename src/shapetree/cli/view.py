"""``shapetree view`` and ``shapetree export-web``: parse, call the server or the site writer, report."""

from __future__ import annotations

import click

from . import main


@main.command()
@click.argument("trees", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--normals", type=click.Path(dir_okay=False), default=None,
              help="A normal-map .stree for the first TREE (from `shapetree normals`).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--no-browser", is_flag=True, help="Only print the URL; do not open a browser.")
def view(trees: tuple[str, ...], normals: str | None, port: int, no_browser: bool) -> None:
    """Show occupancy TREES in the browser viewer, served on 127.0.0.1 until Ctrl-C.

    Only the viewer's own files and the named trees are served; the first tree is shown, the
    others are in the page's gallery."""
    from shapetree.viewer.server import serve

    serve(list(trees), normals, port=port, open_browser=not no_browser)


@main.command(name="export-web")
@click.argument("tree", type=click.Path(dir_okay=False))
@click.option("--normals", type=click.Path(dir_okay=False), default=None,
              help="A normal-map .stree for TREE.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder for the site (new, empty, or a site written before, which is replaced).")
def export_web(tree: str, normals: str | None, output: str) -> None:
    """Write a self-contained static site (the viewer and TREE) that any static web host serves."""
    from shapetree.viewer.site import export_site

    out = export_site(tree, normals, output)
    n = sum(1 for p in out.rglob("*") if p.is_file())
    click.echo(f"wrote {out}: {n} files; serve the folder with any static web server "
               f"(e.g. python -m http.server -d {out})")
