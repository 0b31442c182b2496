"""Shell completion: ``frontier-explore completion bash|zsh|fish`` prints a script to source,
which asks ``frontier-explore __complete WORD...`` for the candidates of the word being typed.

Candidates come from the parser itself (subcommands, options, ``--format`` choices), the
configured ``@names``, and, for asset and run arguments, the store named on the line, opened
through the local index cache (so a warm store answers without reading its manifests again).
The special candidate ``__files__`` asks the shell to complete a path instead.
"""

from __future__ import annotations

import argparse
import sys

FILES = "__files__"

# positional arguments (their ``dest``) that name an asset or a run of the store on the line
ASSET_ARGS = {"asset"}
RUN_ARGS = {"run", "run_a", "run_b"}
RUN_OPTIONS = {"--run", "--as-of"}
RUN_WORDS = ("latest", "previous")

BASH = r"""# frontier-explore completion for bash: add to ~/.bashrc
#   eval "$(frontier-explore completion bash)"
_frontier_explore() {
    local IFS=$'\n' cur="${COMP_WORDS[COMP_CWORD]}" out
    out=$(frontier-explore __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    if [[ "$out" == *__files__* ]]; then
        COMPREPLY=($(compgen -W "${out//__files__/}" -- "$cur") $(compgen -f -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$out" -- "$cur"))
    fi
}
complete -o filenames -F _frontier_explore frontier-explore
"""

ZSH = r"""#compdef frontier-explore
# frontier-explore completion for zsh: add to ~/.zshrc
#   eval "$(frontier-explore completion zsh)"
_frontier_explore() {
    local -a out
    out=("${(@f)$(frontier-explore __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if (( ${out[(I)__files__]} )); then
        out=("${(@)out:#__files__}")
        _files
    fi
    (( ${#out} )) && compadd -- "${(@)out}"
}
compdef _frontier_explore frontier-explore
"""

FISH = r"""# frontier-explore completion for fish: save as ~/.config/fish/completions/frontier-explore.fish
#   frontier-explore completion fish > ~/.config/fish/completions/frontier-explore.fish
function __frontier_explore_complete
    set -l words (commandline -opc) (commandline -ct)
    set -e words[1]
    for c in (frontier-explore __complete $words 2>/dev/null)
        if test "$c" = __files__
            __fish_complete_path (commandline -ct)
        else
            echo $c
        end
    end
end
complete -c frontier-explore -f -a '(__frontier_explore_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps no public list of its actions
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


def _positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def _store_names() -> list[str]:
    try:
        from ..config import load_config

        return [f"@{name}" for name in load_config().stores]
    except Exception:  # noqa: BLE001 - a broken config file must not break the shell
        return []


def _store_words(store: str | None, options: list[str], want: str) -> list[str]:
    """Asset keys or run ids of ``store``, from the local index cache; nothing on any error."""
    if not store:
        return []
    try:
        from ..config import resolve_store
        from ..api import Store
        from ..store.fs import parse_storage_options

        url, opts = resolve_store(store, parse_storage_options(options))
        opened = Store.open(url, opts)
        if want == "asset":
            return sorted(opened.assets())
        return [r.run_id for r in reversed(opened.runs)]
    except Exception:  # noqa: BLE001 - completion is silent: the command itself reports errors
        return []


def candidates(words: list[str]) -> list[str]:
    """What may come in place of ``words[-1]`` (the word being typed, maybe empty), given
    the words before it (the command line after the program name)."""
    from . import GLOBAL_FLAGS, build_parser

    *before, current = words or [""]
    parser = build_parser()
    commands = _subparsers(parser)
    i = 0
    while i < len(before) and before[i] in GLOBAL_FLAGS:
        i += 1
    if i == len(before):  # the command (or the app's STORE) is being typed
        if current.startswith("-"):
            return sorted(set(_options(parser)) - {"-h"})
        return sorted(c for c in commands if not c.startswith("__")) + _store_names() + [FILES]
    name = before[i]
    sub = commands.get(name)
    if sub is None:
        return [FILES]
    nested = _subparsers(sub)
    if nested:  # cache info|clear
        return sorted(nested) if i + 1 == len(before) else []
    options = _options(sub)
    positionals: list[str] = []
    storage: list[str] = []
    j = i + 1
    while j < len(before):
        word = before[j]
        action = options.get(word)
        if action is not None and _takes_value(action):
            if j + 1 < len(before) and action.dest == "storage_option":
                storage.append(before[j + 1])
            j += 2
            continue
        if not word.startswith("-"):
            positionals.append(word)
        j += 1
    store = positionals[0] if positionals and _positionals(sub) and _positionals(sub)[0].dest == "store" else None
    last = before[-1] if len(before) > i + 1 else None
    pending = options.get(last) if last else None
    if pending is not None and _takes_value(pending) and j == len(before) + 1:
        if pending.choices:
            return [str(c) for c in pending.choices]
        if last in RUN_OPTIONS:
            return _store_words(store, storage, "run") + list(RUN_WORDS[:1])
        if pending.dest in ("output", "dagster_home"):
            return [FILES]
        return []
    if current.startswith("-"):
        return sorted(set(options) - {"-h"})
    slots = _positionals(sub)
    if len(positionals) >= len(slots):
        return []
    slot = slots[len(positionals)].dest
    if slot == "store":
        return _store_names() + [FILES]
    if slot in ASSET_ARGS:
        return _store_words(store, storage, "asset")
    if slot in RUN_ARGS:
        extra = list(RUN_WORDS) if name == "diff" else []
        return extra + _store_words(store, storage, "run")
    if slot == "path":
        return [FILES]
    return []


def cmd_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(SCRIPTS[args.shell])
    return 0


def cmd_complete(args: argparse.Namespace) -> int:
    current = args.words[-1] if args.words else ""
    for word in candidates(list(args.words)):
        if word == FILES or word.startswith(current):
            sys.stdout.write(word + "\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)",
                       description="Print a completion script; e.g. eval \"$(frontier-explore completion bash)\"")
    p.add_argument("shell", choices=sorted(SCRIPTS))
    p.set_defaults(func=cmd_completion)
    p = sub.add_parser("__complete")  # what the scripts call; not listed in --help
    p.add_argument("words", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_complete)
    # keep the helper command out of the help's list of commands
    sub._choices_actions = [a for a in sub._choices_actions if a.dest != "__complete"]
