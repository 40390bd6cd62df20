#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
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

A random player never gets far: Space Invaders never clears a wave,
Asterix rarely ramps past its second speed-up and Breakout rarely
breaks more than a few bricks.  With DEEP given as "deep", Asterix,
Space Invaders and Breakout are played by a simple heuristic player
instead (it chases gold and dodges enemies; it aims and dodges bullets;
it moves the paddle to where the ball will land), and half of Space Invaders' games start with only 1 to 3 of
the wave's aliens (MinAtar's alien_map thinned right after reset, where
no frame is compared), so the record reaches cleared waves and the
fastest speeds.

Needs MinAtar on PYTHONPATH and numpy (not needed by the build or tests):
    PYTHONPATH=/path/to/MinAtar /usr/bin/python3 tests/env/minatar_replay.py \\
        GAME FRAMES SEED [RAMPING [DEEP]] | build/tests/env/minatar_replay GAME
e.g. breakout 20000 3 1, or space_invaders 50000 5 1 deep.
"""
import copy
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


def aim_space_invaders(e, rng):
    """Dodges what falls on the cannon, else goes under the nearest
    column of aliens and fires."""
    if rng.rand() < 0.03:
        return rng.randint(6)

    def hot(x):
        return e.e_bullet_map[6:9, x].any() or e.alien_map[8:, x].any()
    if hot(e.pos):
        for a, x in ((1, e.pos - 1), (3, e.pos + 1)):
            if 0 <= x <= 9 and not hot(x):
                return a
        return 1 if e.pos > 0 else 3
    cols = np.flatnonzero(e.alien_map.any(axis=0))
    if len(cols) == 0:
        return 5
    target = cols[np.argmin(abs(cols - e.pos))]
    if target == e.pos:
        return 5
    a = 1 if target < e.pos else 3
    return 0 if hot(e.pos + (1 if a == 3 else -1)) else a


def aim_asterix(e, rng):
    """Steps towards the first gold among the moves that keep clear of
    every enemy's cell and its neighbours in its row."""
    if rng.rand() < 0.2:
        return rng.randint(6)
    y, x = e.player_y, e.player_x
    ents = [n for n in e.entities if n is not None]
    moves = {0: (y, x), 1: (y, max(0, x - 1)), 2: (max(1, y - 1), x),
             3: (y, min(9, x + 1)), 4: (min(8, y + 1), x)}
    safe = [a for a, (yy, xx) in moves.items()
            if not any(not n[3] and n[1] == yy and abs(n[0] - xx) <= 1
                       for n in ents)] or [0]
    gold = [n for n in ents if n[3]]
    if not gold:
        return safe[rng.randint(len(safe))]
    g = gold[0]
    return min(safe, key=lambda a: abs(moves[a][0] - g[1]) +
               abs(moves[a][1] - g[0]))


def aim_breakout(e, rng):
    """Moves the paddle under the column where the ball will come down
    (found by playing a copy of the game on with no-ops and no paddle
    until the ball is lost), so the ball comes back again and again and
    the record reaches deep games: many bricks broken, rows refilled."""
    if rng.rand() < 0.05:
        return rng.randint(6)
    sim = copy.deepcopy(e)
    sim.pos = -5  # no paddle: the ball falls through where it lands
    x = sim.ball_x
    for _ in range(200):
        if sim.act(0)[1]:
            break
        x = sim.ball_x
    x = sim.ball_x
    if x == e.pos:
        return 0
    return 1 if x < e.pos else 3


def thin_wave(e, rng):
    """Keeps 1 to 3 aliens of a new game's wave, in half the games."""
    if rng.rand() < 0.5:
        cells = np.argwhere(e.alien_map)
        keep = cells[rng.choice(len(cells), 1 + rng.randint(3),
                                replace=False)]
        e.alien_map[:] = 0
        for y, x in keep:
            e.alien_map[y, x] = 1


AIM = {"asterix": aim_asterix, "space_invaders": aim_space_invaders,
       "breakout": aim_breakout}


def main():
    game, frames, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ramping = len(sys.argv) < 5 or sys.argv[4] != "0"
    deep = len(sys.argv) > 5 and sys.argv[5] == "deep" and game in AIM
    env = import_module("minatar.environments." + game).Env(ramping=ramping)
    env.random = np.random.RandomState(seed)
    env.reset()
    rng = np.random.RandomState(seed + 100)
    state = globals()["state_" + game]
    out = sys.stdout
    for _ in range(frames):
        a = AIM[game](env, rng) if deep else rng.choice(6, p=POLICY[game])
        pre = state(env)
        r, term = env.act(a)
        post = np.flatnonzero(env.state().astype(np.uint8).flatten())
        out.write(" ".join(map(str, ["A", a, "R", r, "T", int(term), "S",
                                     len(pre)] + pre + ["O", len(post)] +
                               list(post))) + "\n")
        if term:
            env.reset()
            if deep and game == "space_invaders":
                thin_wave(env, rng)


if __name__ == "__main__":
    main()
