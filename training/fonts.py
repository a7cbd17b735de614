"""The fonts synthetic glyphs are rendered from: Debian packages, handwriting-style and printed.

Each family names the classes it may draw (some draw lowercase as small capitals, or decorate their
capitals beyond recognition) and whether it is held out for testing. Families whose files are not
installed are skipped; ``deploy/local/system-deps.sh training`` installs them all.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

ALL = string.digits + string.ascii_uppercase + string.ascii_lowercase
NO_LOWER = string.digits + string.ascii_uppercase
NO_UPPER = string.digits + string.ascii_lowercase
LOWER_ONLY = string.ascii_lowercase
FONT_ROOT = Path("/usr/share/fonts")


@dataclass(frozen=True)
class FontFamily:
    """One family: its Debian package, licence, files (under /usr/share/fonts), classes it may draw."""

    name: str
    package: str
    licence: str
    files: tuple[str, ...]
    chars: str = ALL
    handwriting: bool = False
    held_out: bool = False


def _family(name: str, package: str, licence: str, *files: str, **options: object) -> FontFamily:
    return FontFamily(name, package, licence, tuple(files), **options)  # type: ignore[arg-type]


FAMILIES: tuple[FontFamily, ...] = (
    # Handwriting-style
    _family(
        "dkg-handwriting",
        "fonts-dkg-handwriting",
        "GPL-3+ (font source OFL-1.1)",
        *(f"truetype/fifthhorseman/{f}.ttf" for f in ("dkg", "dkgBd", "dkgIt", "dkgBI")),
        handwriting=True,
    ),
    _family("breip", "fonts-breip", "OFL-1.0", "truetype/breip/Breip.ttf", handwriting=True),
    _family(
        "because-we",
        "fonts-bwht",
        "OFL-1.1",
        *(
            f"opentype/bwht/BecauseWe{f}-Regular.otf"
            for f in ("Build", "Connect", "Create", "Learn", "Mentor", "Organize")
        ),
        chars=NO_LOWER,  # lowercase are small capitals
        handwriting=True,
    ),
    _family(
        "femkeklaver",
        "fonts-femkeklaver",
        "CC-BY-SA-3.0",
        "truetype/femkeklaver/femkeklaver.ttf",
        chars=LOWER_ONLY,  # digits and capitals are outlined
        handwriting=True,
    ),
    _family(
        "humor-sans",
        "fonts-humor-sans",
        "OFL-1.1",
        "truetype/humor-sans/Humor-Sans.ttf",
        chars=NO_LOWER,
        handwriting=True,
    ),
    _family(
        "rufscript",
        "fonts-rufscript",
        "GPL-3+ with font exception",
        "truetype/rufscript/Rufscript010.ttf",
        handwriting=True,
    ),
    _family(
        "delphine", "fonts-sjfonts", "GPL-2 with font exception", "truetype/sjfonts/Delphine.ttf", handwriting=True
    ),
    _family(
        "comic-neue",
        "fonts-comic-neue",
        "OFL-1.1",
        *(f"opentype/comic-neue/ComicNeue-{f}.otf" for f in ("Regular", "Bold", "Italic", "Light")),
        handwriting=True,
    ),
    _family(
        "dancing-script",
        "fonts-dancingscript",
        "OFL-1.1",
        "opentype/dancingscript/DancingScript-Regular.otf",
        "opentype/dancingscript/DancingScript-Bold.otf",
        handwriting=True,
    ),
    _family(
        "ecolier-court",
        "fonts-ecolier-court",
        "OFL-1.1",
        "truetype/ecolier-court/Ecolier-court.ttf",
        chars=NO_UPPER,  # decorated school capitals
        handwriting=True,
    ),
    _family(
        "yusei-magic",
        "fonts-yusei-magic",
        "OFL-1.1",
        "truetype/yusei-magic/YuseiMagic-Regular.ttf",
        handwriting=True,
    ),
    # Printed
    _family(
        "dejavu",
        "fonts-dejavu-core",
        "Bitstream Vera licence",
        *(f"truetype/dejavu/{f}.ttf" for f in ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "DejaVuSansMono")),
    ),
    _family(
        "liberation",
        "fonts-liberation",
        "GPL-2 with font exception",
        *(
            f"truetype/liberation/Liberation{f}.ttf"
            for f in ("Sans-Regular", "Sans-Italic", "Serif-Regular", "Serif-Bold", "Mono-Regular", "SansNarrow-Bold")
        ),
    ),
    _family(
        "open-sans",
        "fonts-open-sans",
        "Apache-2.0",
        *(f"truetype/open-sans/OpenSans-{f}.ttf" for f in ("Regular", "Light", "Bold", "Italic", "CondLight")),
    ),
    _family(
        "cantarell",
        "fonts-cantarell",
        "OFL-1.1",
        *(f"opentype/cantarell/Cantarell-{f}.otf" for f in ("Regular", "Bold", "Light")),
    ),
    _family(
        "linux-libertine",
        "fonts-linuxlibertine",
        "GPL-2 with font exception / OFL-1.1",
        *(f"opentype/linux-libertine/{f}.otf" for f in ("LinLibertine_R", "LinLibertine_RI", "LinBiolinum_R")),
    ),
    _family("jura", "fonts-jura", "OFL-1.1", "opentype/jura/Jura-Regular.otf", "opentype/jura/Jura-Bold.otf"),
    # Held out: never trained on, rendered only for the test set.
    _family(
        "purisa",
        "fonts-tlwg-purisa-ttf",
        "GPL-2+ with font exception",
        *(f"truetype/tlwg/Purisa{f}.ttf" for f in ("", "-Bold", "-Oblique")),
        handwriting=True,
        held_out=True,
    ),
    _family(
        "steve-hand",
        "fonts-sjfonts",
        "GPL-2 with font exception",
        "truetype/sjfonts/SteveHand.ttf",
        handwriting=True,
        held_out=True,
    ),
    _family(
        "carlito",
        "fonts-crosextra-carlito",
        "OFL-1.1",
        "truetype/crosextra/Carlito-Regular.ttf",
        "truetype/crosextra/Carlito-Bold.ttf",
        held_out=True,
    ),
    _family(
        "freefont-serif",
        "fonts-freefont-ttf",
        "GPL-3+ with font exception",
        "truetype/freefont/FreeSerif.ttf",
        "truetype/freefont/FreeSerifItalic.ttf",
        held_out=True,
    ),
)


@dataclass(frozen=True)
class FontFile:
    """One installed font file and the classes it may draw."""

    path: Path
    family: str
    chars: str


def installed_fonts(held_out: bool, root: Path = FONT_ROOT) -> list[FontFile]:
    """Every installed font file of the training (``held_out=False``) or test families."""
    found: list[FontFile] = []
    for family in FAMILIES:
        if family.held_out != held_out:
            continue
        for name in family.files:
            path = root / name
            if path.is_file():
                found.append(FontFile(path, family.name, family.chars))
    return found


def packages(held_out: bool | None = None) -> list[str]:
    """The Debian packages of the families (all of them when ``held_out`` is None)."""
    chosen = [f.package for f in FAMILIES if held_out is None or f.held_out == held_out]
    return sorted(set(chosen))
