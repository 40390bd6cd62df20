#!/usr/bin/env python3
"""Frame-by-frame record of a MinAtar game, for tests/env/minatar_replay.c.

Plays FRAMES frames of one MinAtar 1.0.15 game (sticky actions off: the
game's own Env, not the Environment wrapper) with a random policy biased
towards each game's useful actions, and prints one line per frame:

    A <action> R <reward> T <terminal> S <n> <n state ints> O <m> <m ints>

S is the game's state before the frame (MinAtar's attributes, in the order
minatar_replay.c reads them) and O the flat indices of the cells set in
MinAtar's [10, 10, C] observation after it.  minatar_replay loads each
state into our game, steps it and compares; frames that draw random
numbers (spawns, Freeway's new speeds) are skipped there.

Needs MinAtar on PYTHONPATH and numpy (not needed by the build or tests):
    PYTHONPATH=/path/to/MinAtar /usr/bin/python3 tests/env/minatar_replay.py \\
        breakout 20000 3 1 | build/tests/env/minatar_replay breakout
"""
import sys
from importlib import import_module

import numpy as np


def flat(m):
    return [int(v) for v in np.asarray(m).flatten()]


def state_breakout(e):
    return [e.ball_x, e.ball_y, e.last_x, e.last_y, e.ball_dir, e.pos,
            int(e.strike)] + flat(e.brick_map)


def state_freeway(e):
    out = [e.pos, e.move_timer, e.terminate_timer]
    for c in e.cars:
        out += [c[0], c[1], c[2], c[3]]
    return out


def state_asterix(e):
    out = [e.player_x, e.player_y, e.spawn_speed, e.spawn_timer,
           e.move_speed, e.move_timer, e.ramp_timer, e.ramp_index,
           int(e.ramping)]
    for x in e.entities:
        out += [0] * 5 if x is None else [1, x[0], x[1], int(x[2]),
                                          int(x[3])]
    return out


def state_space_invaders(e):
    return [e.pos, e.alien_dir, e.enemy_move_interval, e.alien_move_timer,
            e.alien_shot_timer, e.ramp_index, e.shot_timer,
            int(e.ramping)] + flat(e.alien_map) + flat(e.f_bullet_map) + \
        flat(e.e_bullet_map)


def state_seaquest(e):
    out = [e.oxygen, e.diver_count, e.sub_x, e.sub_y, int(e.sub_or),
           e.e_spawn_speed, e.e_spawn_timer, e.d_spawn_timer, e.move_speed,
           e.ramp_index, e.shot_timer, int(e.surface), int(e.ramping)]
    for lst, w in ((e.f_bullets, 3), (e.e_bullets, 3), (e.e_fish, 4),
                   (e.e_subs, 5), (e.divers, 4)):
        out.append(len(lst))
        for x in lst:
            out += [int(v) for v in x[:w]]
    return out


# Action probabilities (no-op, left, up, right, down, fire).
POLICY = {
    "breakout": [.2, .4, 0, .4, 0, 0],
    "freeway": [.1, 0, .8, 0, .1, 0],
    "asterix": [.2, .2, .2, .2, .2, 0],
    "seaquest": [.1, .15, .15, .15, .15, .3],
    "space_invaders": [.2, .3, 0, .3, 0, .2],
}


def main():
    game, frames, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ramping = len(sys.argv) < 5 or sys.argv[4] != "0"
    env = import_module("minatar.environments." + game).Env(ramping=ramping)
    env.random = np.random.RandomState(seed)
    env.reset()
    rng = np.random.RandomState(seed + 100)
    state = globals()["state_" + game]
    out = sys.stdout
    for _ in range(frames):
        a = rng.choice(6, p=POLICY[game])
        pre = state(env)
        r, term = env.act(a)
        post = np.flatnonzero(env.state().astype(np.uint8).flatten())
        out.write(" ".join(map(str, ["A", a, "R", r, "T", int(term), "S",
                                     len(pre)] + pre + ["O", len(post)] +
                               list(post))) + "\n")
        if term:
            env.reset()


if __name__ == "__main__":
    main()
