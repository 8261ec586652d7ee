"""Channel roles: which channel holds nuclei, donor/recipient identity, P-gp and efflux dye."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pgpviewer.core.errors import InputError

ROLES = ("nuclei", "donor", "recipient", "pgp", "efflux")

# Order matters: the first role whose pattern matches a channel name wins for that channel.
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("donor", r"donor|cfse|\bdi[dio]\b|dii|pkh"),
    ("recipient", r"recipient|cell ?tracker|cmac|cmfda|cmtpx"),
    ("efflux", r"calcein|rhodamine|rh ?123|doxorubicin|\bdox\b|efflux"),
    ("pgp", r"p-?gp|abcb1|mdr-?1|uic2|mrk16|c219|\begfp\b|\bgfp\b|\bmdr\b"),
    ("nuclei", r"hoechst|dapi|h2b|nucle|sir-?dna|draq5|dna\b"),
)


def guess_roles(channel_names: Sequence[str]) -> dict[str, int]:
    """Guess channel roles from channel names.

    Parameters
    ----------
    channel_names : sequence of str
        Channel names as read from the file.

    Returns
    -------
    dict of str to int
        Role → channel index for every role recognised (each role at most once, the first
        matching channel wins; unrecognised channels get no role).

    Examples
    --------
    >>> guess_roles(["Hoechst 33342", "CellTracker Blue", "P-gp-EGFP"])
    {'nuclei': 0, 'recipient': 1, 'pgp': 2}
    """
    roles: dict[str, int] = {}
    for index, name in enumerate(channel_names):
        text = str(name).lower()
        for role, pattern in _PATTERNS:
            if role not in roles and re.search(pattern, text):
                roles[role] = index
                break
    return dict(sorted(roles.items(), key=lambda kv: ROLES.index(kv[0])))


def resolve_roles(
    mapping: Mapping[str, str | int], channel_names: Sequence[str], *, source: object = None
) -> dict[str, int]:
    """Turn ``role → channel name or index`` (as typed by a user) into ``role → index``.

    Parameters
    ----------
    mapping : mapping of str to str or int
        E.g. ``{"nuclei": "0", "pgp": "P-gp-EGFP"}``; names match case-insensitively.
    channel_names : sequence of str
        The file's channel names.
    source : path, optional
        The file, named in error messages.

    Raises
    ------
    InputError
        Unknown role, a channel that does not exist, or two roles on one channel.
    """
    out: dict[str, int] = {}
    lowered = [str(n).lower() for n in channel_names]
    for role, value in mapping.items():
        if role not in ROLES:
            raise InputError(source, f"unknown channel role {role!r} (roles: {', '.join(ROLES)})")
        text = str(value).strip()
        if text.lstrip("-").isdigit():
            idx = int(text)
            if not 0 <= idx < len(channel_names):
                raise InputError(
                    source,
                    f"channel {idx} for role {role!r} does not exist "
                    f"(file has {len(channel_names)} channels: {', '.join(channel_names)})",
                )
        elif text.lower() in lowered:
            idx = lowered.index(text.lower())
        else:
            raise InputError(
                source,
                f"no channel named {text!r} for role {role!r} "
                f"(channels: {', '.join(channel_names)})",
            )
        out[role] = idx
    used = [i for i in out.values()]
    if len(set(used)) != len(used):
        raise InputError(source, "two roles are mapped to the same channel")
    return dict(sorted(out.items(), key=lambda kv: ROLES.index(kv[0])))


def channel_column_name(name: str) -> str:
    """Channel name as used in CSV columns: lowercase, non-alphanumerics replaced by ``_``.

    Examples
    --------
    >>> channel_column_name("P-gp-EGFP")
    'p_gp_egfp'
    """
    return re.sub(r"[^0-9a-z]", "_", str(name).lower())


def channel_columns(channel_names: Sequence[str]) -> list[str]:
    """Column stems for channels: :func:`~pgpviewer.core.roles.channel_column_name`, made unique.

    Names that collide get ``_1``, ``_2``… in channel order (and an empty name becomes
    ``channel_<index>``).

    Examples
    --------
    >>> channel_columns(["Hoechst", "P-gp", "P gp"])
    ['hoechst', 'p_gp_1', 'p_gp_2']
    """
    stems = []
    for i, name in enumerate(channel_names):
        stem = channel_column_name(name)
        if not re.search(r"[0-9a-z]", stem):
            stem = f"channel_{i}"
        stems.append(stem)
    counts: dict[str, int] = {}
    for s in stems:
        counts[s] = counts.get(s, 0) + 1
    out: list[str] = []
    taken = {s for s in stems if counts[s] == 1}
    seen: dict[str, int] = {}
    for s in stems:
        if counts[s] == 1:
            out.append(s)
            continue
        k = seen.get(s, 0)
        while True:
            k += 1
            cand = f"{s}_{k}"
            if cand not in taken:
                break
        seen[s] = k
        taken.add(cand)
        out.append(cand)
    return out
