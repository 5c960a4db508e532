"""Find links to released code in free text (abstracts, comments) and source fields."""

from __future__ import annotations

import re

# Hosts whose links point at code or models; "huggingface.co" only counts with a repo path.
_CODE_URL = re.compile(
    r"""(?:https?://)?(?:www\.)?
        (?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|huggingface\.co|sourceforge\.net
           |gitee\.com|git\.io|paperswithcode\.com/paper|colab\.research\.google\.com)
        /[^\s\)\]\}>,;"'\\]+""",
    re.IGNORECASE | re.VERBOSE,
)
# Cheap substring test first: the full pattern is slow on long abstracts that hold no link at all.
_HOST_HINTS = ("github", "gitlab", "bitbucket", "codeberg", "huggingface", "sourceforge", "gitee", "git.io",
               "paperswithcode", "colab.research")
# LaTeX sources write "\url{...}" and "\_"; undo both before matching.
_LATEX_URL = re.compile(r"\\url\{([^}]*)\}")


def _clean(url: str) -> str:
    url = url.rstrip(".:!?'\"")
    if not url.lower().startswith("http"):
        url = "https://" + url
    return url


def extract_code_urls(*texts: str | None) -> list[str]:
    """Every distinct code link in the texts, in order of appearance, with a scheme."""
    found: list[str] = []
    for text in texts:
        if not text:
            continue
        lowered = text.lower()
        if not any(hint in lowered for hint in _HOST_HINTS):
            continue
        text = _LATEX_URL.sub(r" \1 ", text).replace("\\_", "_")
        # Line-broken URLs ("https://github.com/ab-\ncd") are joined where a hyphen ends the line.
        text = re.sub(r"-\s*\n\s*", "-", text)
        for match in _CODE_URL.finditer(text):
            url = _clean(match.group(0))
            host_path = url.split("://", 1)[1]
            if host_path.count("/") < 1 or host_path.endswith("/"):
                url = url.rstrip("/")
            if "/" not in host_path.strip("/"):
                continue  # a bare host is no link to code
            if url not in found:
                found.append(url)
    return found
