"""device_detector's data is parsed in a child process into a cache the app reads instead of YAML."""

from __future__ import annotations

import marshal

from mautic_app import ua_data


def test_the_child_parses_every_data_file_and_the_stand_in_answers_from_it(tmp_path):
    cache = tmp_path / "dd.marshal"
    ua_data._build(cache)
    parsed = marshal.loads(cache.read_bytes())
    files = ua_data._regex_files()
    assert len(parsed) == len({ua_data._digest(p.read_text(encoding="utf-8")) for p in files}) > 50

    class Refuse:
        def loads(self, *_args, **_kwargs):
            raise AssertionError("the YAML parser ran")

    stand_in = ua_data._ParsedYaml(parsed, Refuse())
    import yaml_rs

    for path in files:  # the same data as the YAML parser gives, sets included
        text = path.read_text(encoding="utf-8")
        assert stand_in.loads(text) == yaml_rs.loads(text), path.name
    text = next(p for p in files if p.name == "bots.yml" and p.parent.name == "upstream").read_text(encoding="utf-8")
    bots = stand_in.loads(text)
    bots.clear()
    assert stand_in.loads(text)  # every answer is a fresh copy
