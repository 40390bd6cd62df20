# SPDX-License-Identifier: Apache-2.0
"""A stand-in for Gymnasium (which Debian 12 does not package), so that the
tests can check what impala does with gym:ID: it calls gymnasium.make(ID,
**kwargs).  Only CartPole-v1 is registered, as the Python CartPole of
tests/env/pycartpole.py; unknown ids raise as Gymnasium's make() does."""
import pycartpole

_registry = {"CartPole-v1": pycartpole.make}


def make(env_id, **kwargs):
    if env_id not in _registry:
        raise KeyError(f"Environment {env_id} doesn't exist.")
    return _registry[env_id](**kwargs)
