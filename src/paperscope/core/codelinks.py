"""Find links to released code in free text (abstracts, comments) and source fields."""

from __future__ import annotations

import re

# Hosts whose links point at code or models. The pattern starts at the host (the scheme and
# "www." are implied: every link comes out as https://host/path) and runs case-sensitively on
# lower-cased text, which is an order of magnitude faster than an IGNORECASE scan with an
# optional prefix; the path is then cut from the original text to keep its case.
_HOSTS = (r"(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|huggingface\.co|sourceforge\.net"
          r"|gitee\.com|git\.io|paperswithcode\.com/paper|colab\.research\.google\.com)")
_PATH = r"""/[^\s\)\]\}>,;"'\\]+"""
_CODE_URL = re.compile(_HOSTS + _PATH)
_CODE_URL_ANY_CASE = re.compile(_HOSTS + _PATH, re.IGNORECASE)
# A cheap substring test comes first (in extract_code_urls): most abstracts hold no link at all.
# LaTeX sources write "\url{...}" and "\_"; undo both before matching.
_LATEX_URL = re.compile(r"\\url\{([^}]*)\}")


def _clean(url: str) -> str:
    url = url.rstrip(".:!?'\"/")
    slash = url.find("/")
    return "https://" + url[:slash].lower() + url[slash:]


def extract_code_urls(*texts: str | None) -> list[str]:
    """Every distinct code link in the texts, in order of appearance, as https://host/path."""
    found: list[str] = []
    for text in texts:
        if not text:
            continue
        lowered = text.lower()
        # Unrolled: "git" covers github, gitlab, gitee and git.io.
        if not ("git" in lowered or "hugging" in lowered or "bitbucket" in lowered or "codeberg" in lowered
                or "sourceforge" in lowered or "paperswithcode" in lowered or "colab" in lowered):
            continue
        if "\\" in text or "\n" in text:
            text = _LATEX_URL.sub(r" \1 ", text).replace("\\_", "_")
            # Line-broken URLs ("https://github.com/ab-\ncd") are joined where a hyphen ends the line.
            text = re.sub(r"-\s*\n\s*", "-", text)
            lowered = text.lower()
        if len(lowered) == len(text):
            spans = (m.span() for m in _CODE_URL.finditer(lowered))
        else:  # lower() changed the length (rare scripts): scan the original, slower
            spans = (m.span() for m in _CODE_URL_ANY_CASE.finditer(text))
        for start, end in spans:
            url = _clean(text[start:end])
            if url.count("/") < 3:
                continue  # a bare host is no link to code
            if url not in found:
                found.append(url)
    return found
