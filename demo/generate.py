"""Seeded generator of the demo data set: COSMO-style e-commerce commonsense candidates as JSON Lines.

Everything here is standard-library Python (no Django) and all randomness comes from one
``random.Random(seed)``, so a seed always yields byte-identical files. The catalogue, queries and tails below
are hand-written demo content. Besides good candidates the generator deliberately writes the defects an LLM
produces (COSMO's mix): incomplete sentences, tails that echo the query or the product title, generic tails,
implausible and atypical ones, a few with personal data and a few junk strings. ``truth.csv`` records, per
line, which of these the generator intended, for evaluating filters later.

Outputs (see docs/formats.md for the line format):

- ``candidates.jsonl.gz``: one candidate per line, gzip with mtime 0.
- ``truth.csv``: ``line,defect`` with the 1-based line number and one of ``DEFECTS``.

To regenerate after editing this module, run from the repository root (truth.csv is rewritten next to --out):
    python -m demo.generate --seed 7 --out demo/candidates.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SEED = 7
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "candidates.jsonl.gz"

DEFECTS = (
    "good",
    "incomplete",
    "echo_query",
    "echo_title",
    "generic",
    "implausible",
    "atypical",
    "blocked_pii",
    "junk",
)

# Relation codes used in the content tables below -> COSMO relation slugs.
REL = {
    "F": "used_for_function",
    "E": "used_for_event",
    "A": "used_for_audience",
    "C": "capable_of",
    "T": "used_to",
    "AS": "used_as",
    "ISA": "is_a",
    "ON": "used_on",
    "LOC": "used_in_location",
    "BODY": "used_in_body",
    "WITH": "used_with",
    "BY": "used_by",
    "INT": "x_interested_in",
    "XISA": "x_is_a",
    "WANT": "x_want",
}
RELATIONS = tuple(REL.values())
REL_SHORT = {
    "used_for_function": "function",
    "used_for_event": "event",
    "used_for_audience": "audience",
    "capable_of": "capable",
    "used_to": "usedto",
    "used_as": "usedas",
    "is_a": "isa",
    "used_on": "usedon",
    "used_in_location": "location",
    "used_in_body": "body",
    "used_with": "with",
    "used_by": "usedby",
    "x_interested_in": "interest",
    "x_is_a": "xisa",
    "x_want": "want",
}
# How often a generator picks a relation for a good tail (COSMO leans on function, capability and event).
REL_WEIGHT = {
    "used_for_function": 4,
    "capable_of": 3,
    "used_for_event": 3,
    "used_for_audience": 2,
    "x_want": 2,
    "used_to": 2,
}
KEY_ORDER = (
    "kind",
    "query",
    "product",
    "other_product",
    "count",
    "head",
    "relation",
    "tail",
    "generator",
    "prompt_id",
    "support",
    "labels",
)
LABEL_ORDER = ("complete", "relevant", "informative", "plausible", "typical")
_TRAILING_PUNCTUATION = " .!?;,:…"


def parse_tails(spec: str) -> dict[str, list[str]]:
    """``"F: a | b; C: c"`` -> ``{"used_for_function": ["a", "b"], "capable_of": ["c"]}``."""
    out: dict[str, list[str]] = {}
    for part in spec.split(";"):
        part = part.strip()
        if not part:
            continue
        code, _, tails = part.partition(":")
        relation = REL[code.strip()]
        out.setdefault(relation, []).extend(t.strip() for t in tails.split("|") if t.strip())
    return out


@dataclass
class ProductType:
    key: str
    category: str
    noun: str
    brands: list[str]
    titles: list[str]
    attrs: dict[str, list[Any]]
    queries: list[str]
    good: dict[str, list[str]]
    odd: dict[str, list[str]]


def T(
    key: str,
    category: str,
    noun: str,
    brands: str,
    titles: list[str],
    attrs: dict[str, list[Any]],
    queries: list[str],
    good: str,
    odd: str,
) -> ProductType:
    return ProductType(
        key,
        category,
        noun,
        [b.strip() for b in brands.split(",")],
        titles,
        attrs,
        queries,
        parse_tails(good),
        parse_tails(odd),
    )


SIZES = ["6", "7", "8", "9", "10", "11", "12"]

# fmt: off
TYPES: list[ProductType] = [
    # ---------------------------------------------------------------- Shoes
    T("hiking_boot", "Shoes", "hiking boots", "Trailmark, Ridgeline, Summit Co",
      ["{brand} Women's Waterproof Leather Hiking Boot, Mid-Cut, {color}",
       "{brand} Men's Lightweight Trail Hiking Boot, {color}",
       "{brand} Insulated Winter Hiking Boot, {color}"],
      {"color": ["brown", "black", "slate grey", "olive"], "size": SIZES,
       "material": ["leather", "suede", "synthetic mesh"]},
      ["waterproof hiking boots women size 8", "hiking boots", "boots for muddy trails",
       "mens hiking boots wide", "insulated hiking boots"],
      "F: keep feet dry on muddy trails | support the ankles on rocky ground;"
      "C: grip wet rocks | keep out water when crossing shallow streams;"
      "E: a weekend hiking trip | a mountain trek; A: day hikers | backpackers;"
      "T: hike rough trails without twisting an ankle; LOC: mountain trails | national parks;"
      "BODY: feet | ankles; WITH: wool hiking socks | trekking poles; BY: hikers | trail guides;"
      "ISA: a type of hiking footwear; INT: hiking | backpacking; XISA: a hiker | an outdoor enthusiast;"
      "WANT: hike without blisters | explore mountain trails in any weather; ON: rainy days | rocky terrain",
      "AS: a planter for succulents; E: a formal wedding; LOC: an office with a strict dress code"),
    T("running_shoe", "Shoes", "running shoes", "Stride, Fleetfoot, Pacer",
      ["{brand} Men's Cushioned Road Running Shoe, {color}",
       "{brand} Women's Lightweight Running Sneaker, {color}",
       "{brand} Trail Running Shoe with Rock Plate, {color}"],
      {"color": ["white", "black", "neon yellow", "navy"], "size": SIZES, "material": ["mesh", "knit"]},
      ["running shoes", "running shoes for flat feet", "womens lightweight running sneakers",
       "marathon training shoes", "trail running shoes men"],
      "F: cushion each stride on pavement | absorb shock during long runs;"
      "C: reduce impact on the knees | breathe well on hot days;"
      "E: a half marathon | a morning jog | a charity 5k race;"
      "A: long-distance runners | beginners training for a 5k; T: run longer distances without foot pain;"
      "LOC: the running track | city streets; ON: treadmills | asphalt roads;"
      "BODY: feet | arches of the feet; WITH: moisture-wicking socks | a running watch;"
      "BY: marathon runners | joggers; ISA: a type of athletic shoe; INT: running | marathon training;"
      "XISA: a runner; WANT: train for a marathon | run without sore feet",
      "E: a job interview | a dance recital; AS: everyday office shoes"),
    T("winter_boot", "Shoes", "winter boots", "Frostline, Polar Path, Northway",
      ["{brand} Women's Slip-Resistant Ankle Snow Boot, Faux-Fur Lined, {color}",
       "{brand} Kids' Insulated Waterproof Winter Boot, {color}",
       "{brand} Men's Pac Boot Rated to -40°F, {color}"],
      {"color": ["black", "tan", "charcoal", "burgundy"], "size": SIZES,
       "material": ["rubber and nylon", "suede"]},
      ["winter boots for pregnant women", "snow boots", "non slip winter boots",
       "kids snow boots waterproof", "warm boots for ice"],
      "F: keep feet warm in the snow | prevent slipping on ice;"
      "C: grip icy sidewalks | stay warm below freezing;"
      "E: a ski trip | shoveling snow on a winter morning;"
      "A: kids who play in the snow | people who walk to work in winter;"
      "T: walk through deep snow with dry feet; ON: snowy days | icy sidewalks;"
      "LOC: snowy city streets | a ski resort; BODY: feet | ankles;"
      "WITH: thermal socks | a warm parka; BY: commuters in cold climates | mail carriers;"
      "ISA: a type of winter footwear; INT: winter sports; XISA: someone who lives in a cold climate;"
      "WANT: walk safely on icy sidewalks | keep their feet dry in slush",
      "LOC: a walk-in freezer at work; AS: indoor slippers"),
    T("slipper", "Shoes", "slippers", "Cozyhaus, Lounge & Co",
      ["{brand} Women's Memory Foam Moccasin Slipper, {color}",
       "{brand} Men's Fleece-Lined Clog Slipper, {color}",
       "{brand} Kids' Plush Animal Slippers, {color}"],
      {"color": ["grey", "pink", "navy", "brown"], "size": SIZES,
       "material": ["faux fur", "fleece", "wool felt"]},
      ["slippers", "memory foam slippers women", "warm house shoes", "slippers with hard sole"],
      "F: keep feet warm at home | cushion feet on hard floors; C: slip on and off easily;"
      "E: a lazy Sunday at home | Christmas morning;"
      "A: people who work from home | seniors with cold feet; T: pad around the house quietly;"
      "LOC: the living room | a hotel room; ON: cold tile floors | chilly mornings; BODY: feet;"
      "WITH: pajamas | a bathrobe; BY: retirees; ISA: a type of house shoe; XISA: a homebody;"
      "WANT: relax at home in comfort; INT: comfortable loungewear",
      "AS: a dust mop for hardwood floors | a chew toy for a puppy"),
    T("rain_boot", "Shoes", "rain boots", "Puddle, Wellfield",
      ["{brand} Women's Tall Waterproof Rain Boot, {color}",
       "{brand} Kids' Printed Rubber Rain Boot, {color}",
       "{brand} Men's Chelsea Rain Boot, {color}"],
      {"color": ["yellow", "navy", "hunter green", "red"], "size": SIZES,
       "material": ["natural rubber", "PVC"]},
      ["rain boots", "kids rain boots", "womens tall rain boots", "garden boots waterproof"],
      "F: keep feet dry in the rain | protect shoes from mud;"
      "C: wade through puddles | rinse clean with a hose;"
      "E: a rainy school day | a music festival in muddy fields;"
      "A: children who love puddles | gardeners; T: walk through wet grass without soaking their socks;"
      "LOC: the garden | a muddy farmyard; ON: rainy days; BODY: feet | calves;"
      "WITH: boot socks | a raincoat; BY: gardeners | farmers; ISA: a type of waterproof boot;"
      "INT: gardening; XISA: a gardener | a parent of a young child;"
      "WANT: jump in puddles without wet socks",
      "AS: a vase for fresh flowers | a planter for herbs"),
    # ---------------------------------------------------------------- Outdoors & Camping
    T("tent", "Outdoors & Camping", "camping tent", "Basecamp, Wildtrail, Cedar Peak",
      ["{brand} 4-Person Dome Camping Tent with Rainfly, {color}",
       "{brand} 2-Person Ultralight Backpacking Tent, {color}",
       "{brand} 6-Person Instant Cabin Tent, {color}"],
      {"color": ["green", "orange", "grey", "sand"], "material": ["polyester", "nylon ripstop"],
       "season": ["3-season", "4-season"]},
      ["camping tent", "4 person tent", "ultralight backpacking tent", "family tent waterproof",
       "tent for music festival"],
      "F: shelter a family overnight | keep campers dry in the rain;"
      "C: withstand strong wind | set up in a few minutes;"
      "E: a family camping trip | a music festival weekend | an overnight backpacking trip;"
      "A: families who camp | backpackers; T: sleep outdoors protected from bugs and rain;"
      "LOC: a campsite | a backyard; ON: summer weekends; WITH: a sleeping bag | tent stakes;"
      "BY: campers | scout troops; ISA: a type of outdoor shelter; INT: camping;"
      "XISA: a camper; WANT: sleep outdoors without getting wet | go camping with their kids",
      "AS: a kids' indoor play fort; LOC: the living room for a sleepover"),
    T("sleeping_bag", "Outdoors & Camping", "sleeping bag", "Basecamp, Nightfall, Wildtrail",
      ["{brand} 20°F Mummy Sleeping Bag, {color}",
       "{brand} Kids' Rectangular Sleeping Bag, {color}",
       "{brand} Double Sleeping Bag for Two Adults, {color}"],
      {"color": ["navy", "red", "green"], "fill": ["synthetic", "down"]},
      ["sleeping bag", "cold weather sleeping bag", "kids sleeping bag", "double sleeping bag couples"],
      "F: keep warm while sleeping outdoors | insulate against cold nights;"
      "C: pack down small | stay warm near freezing; E: a winter camping trip | a sleepover;"
      "A: backpackers | kids at summer camp; T: sleep comfortably in a tent;"
      "LOC: a tent | a mountain hut; WITH: a sleeping pad | a camping pillow;"
      "BY: campers | mountaineers; ISA: a type of camping bedding; INT: camping | backpacking;"
      "XISA: a camper; WANT: sleep warm on a cold night; ON: chilly autumn nights",
      "AS: a spare blanket for guests | a blanket at an outdoor movie"),
    T("sleeping_pad", "Outdoors & Camping", "sleeping pad", "Nightfall, Restwell",
      ["{brand} Self-Inflating Sleeping Pad, 3 Inch, {color}",
       "{brand} Ultralight Inflatable Sleeping Mat with Pump Sack, {color}",
       "{brand} Closed-Cell Foam Camping Pad, {color}"],
      {"color": ["blue", "orange", "green"], "material": ["nylon", "foam"]},
      ["sleeping pad", "inflatable sleeping mat", "camping mattress", "foam pad for camping"],
      "F: cushion the body on hard ground | insulate a sleeper from cold ground;"
      "C: inflate in a few breaths | roll up to the size of a water bottle;"
      "E: a backpacking trip | a car camping weekend; A: side sleepers who camp | backpackers;"
      "T: sleep without rocks digging into the back; LOC: a tent | a campsite; BODY: back | hips;"
      "WITH: a sleeping bag | a tent; BY: campers; ISA: a type of camping mattress;"
      "INT: backpacking; XISA: a backpacker; WANT: sleep comfortably on rocky ground",
      "AS: a pool float | a yoga mat"),
    T("headlamp", "Outdoors & Camping", "headlamp", "Lumen Trail, Brightpath",
      ["{brand} Rechargeable LED Headlamp, 400 Lumens, {color}",
       "{brand} Waterproof Headlamp with Red Light Mode, {color}",
       "{brand} Kids' Headlamp with Adjustable Strap, {color}"],
      {"color": ["black", "orange", "blue"], "battery": ["rechargeable", "AAA"]},
      ["headlamp", "rechargeable headlamp", "headlamp for running at night", "camping lights"],
      "F: light the trail in the dark | keep the hands free while working in the dark;"
      "C: shine a beam over 100 meters | run for hours on one charge;"
      "E: a night hike | a power outage; A: night runners | cavers;"
      "T: find things in a tent at night; LOC: a campsite after dark | an attic; BODY: head | forehead;"
      "WITH: spare batteries | a tent; BY: campers | mechanics; ISA: a type of flashlight;"
      "INT: night hiking; XISA: a camper | a trail runner; WANT: see the path on an early morning hike;"
      "ON: dark winter evenings",
      "AS: a reading light in bed; E: a kids' Halloween costume"),
    T("camp_stove", "Outdoors & Camping", "camping stove", "Fireside, Basecamp",
      ["{brand} Portable Propane Camp Stove, 2 Burners, {color}",
       "{brand} Compact Backpacking Stove with Piezo Igniter",
       "{brand} Folding Wood-Burning Camp Stove"],
      {"color": ["green", "black", "silver"], "fuel": ["propane", "butane", "wood"]},
      ["camping stove", "backpacking stove", "portable gas stove", "camp cooking gear"],
      "F: cook meals at a campsite | boil water outdoors;"
      "C: boil a liter of water in four minutes | fold into a small case;"
      "E: a camping trip | a tailgate party; A: campers who cook | backpackers;"
      "T: make hot meals away from home; LOC: a campsite | a tailgate;"
      "WITH: a camping cookware set | a fuel canister; BY: campers | scout troops;"
      "ISA: a type of portable stove; INT: outdoor cooking; XISA: a camper;"
      "WANT: make hot coffee at the campsite; ON: camping weekends",
      "LOC: a home patio during a power outage; F: melt wax for candle making"),
    # ---------------------------------------------------------------- Kitchen
    T("blender", "Kitchen", "blender", "Vortex, Kitchenaire, BlendPro",
      ["{brand} Professional Countertop Blender, 1400W, 64 oz, {color}",
       "{brand} Personal Smoothie Blender with 2 Travel Cups, {color}",
       "{brand} Immersion Hand Blender, {color}"],
      {"color": ["black", "red", "stainless steel", "white"], "dishwasher_safe": [True, False]},
      ["blender", "smoothie blender", "blender for frozen fruit", "personal blender travel",
       "blender for baby food"],
      "F: make smoothies | crush ice for frozen drinks; C: puree frozen fruit | make nut butter;"
      "E: breakfast on busy mornings | a summer margarita party;"
      "A: smoothie lovers | parents making baby food; T: blend soups until smooth;"
      "LOC: the kitchen | an office break room; ON: busy mornings;"
      "WITH: frozen berries | protein powder; BY: home cooks | fitness enthusiasts;"
      "ISA: a type of kitchen appliance; INT: healthy eating; XISA: a health-conscious cook;"
      "WANT: make a quick breakfast smoothie",
      "T: grind coffee beans; F: make paper pulp for a craft project"),
    T("skillet", "Kitchen", "cast iron skillet", "Ironhearth, Lodgewell",
      ["{brand} Pre-Seasoned Cast Iron Skillet, 12 Inch",
       "{brand} Cast Iron Skillet with Helper Handle, 10 Inch",
       "{brand} Enameled Cast Iron Frying Pan, {color}"],
      {"color": ["black", "red", "blue"], "oven_safe": [True]},
      ["cast iron skillet", "frying pan", "pan for searing steak", "oven safe skillet"],
      "F: sear steaks | bake cornbread; C: hold heat evenly | go from stovetop to oven;"
      "E: a weekend brunch | a campfire cookout; A: home cooks | people who like to grill;"
      "T: fry crispy potatoes; LOC: the kitchen | a campfire; WITH: a silicone handle cover | steak;"
      "BY: chefs | home cooks; ISA: a type of frying pan; INT: cooking; XISA: a home cook;"
      "WANT: get a good crust on a steak",
      "AS: a pizza stone | a weight for pressing sandwiches"),
    T("chef_knife", "Kitchen", "chef's knife", "Edgecraft, Kuro",
      ["{brand} 8-Inch Chef's Knife, {material}",
       "{brand} Japanese Santoku Knife, 7 Inch, {material}",
       "{brand} 15-Piece Knife Block Set"],
      {"material": ["stainless steel", "carbon steel", "Damascus steel"], "handle": ["pakkawood", "polymer"]},
      ["chef knife", "kitchen knife set", "japanese knife", "sharp knife for vegetables"],
      "F: chop vegetables | slice meat thinly; C: stay sharp for months | dice an onion quickly;"
      "E: holiday dinner prep | a cooking class; A: home cooks | culinary students;"
      "T: prepare ingredients for dinner; LOC: the kitchen; ON: a wooden cutting board;"
      "WITH: a cutting board | a honing steel; BY: chefs; ISA: a type of kitchen knife;"
      "INT: cooking; XISA: a home cook | an aspiring chef; WANT: prep vegetables faster",
      "F: open cardboard boxes | trim fabric for a sewing project"),
    T("coffee_maker", "Kitchen", "coffee maker", "Brewhaus, Morning Ritual",
      ["{brand} 12-Cup Programmable Drip Coffee Maker, {color}",
       "{brand} Single-Serve Pod Coffee Machine, {color}",
       "{brand} Glass Pour-Over Coffee Maker, 6 Cup"],
      {"color": ["black", "stainless steel", "white"]},
      ["coffee maker", "programmable coffee maker", "pour over coffee", "coffee machine for office"],
      "F: brew coffee in the morning | keep coffee hot for hours; C: start brewing on a timer;"
      "E: the morning routine | a family brunch; A: coffee drinkers | busy professionals;"
      "T: make a full pot for guests; LOC: the kitchen | an office break room; ON: workday mornings;"
      "WITH: ground coffee | paper filters; BY: coffee lovers; ISA: a type of kitchen appliance;"
      "INT: coffee; XISA: a coffee lover; WANT: wake up to freshly brewed coffee",
      "T: brew loose-leaf tea; F: heat water for instant noodles"),
    T("food_storage", "Kitchen", "food storage containers", "Freshkeep, Pantrywise",
      ["{brand} Glass Meal Prep Containers with Snap Lids, Set of 10",
       "{brand} BPA-Free Plastic Food Storage Set, 24 Pieces",
       "{brand} Silicone Reusable Storage Bags, Set of 6, {color}"],
      {"color": ["clear", "blue", "green"], "material": ["glass", "plastic", "silicone"]},
      ["meal prep containers", "food storage containers", "glass containers with lids",
       "reusable food bags"],
      "F: store leftovers | portion meals for the week;"
      "C: go from freezer to microwave | keep food fresh longer;"
      "E: weekly meal prep on Sunday | packing lunch for work;"
      "A: people who meal prep | families with leftovers; T: keep cut vegetables crisp;"
      "LOC: the fridge | the freezer; WITH: a lunch bag | freezer labels; BY: meal preppers;"
      "ISA: a type of food container; INT: meal prepping | healthy eating; XISA: a meal prepper;"
      "WANT: eat healthy lunches at work | reduce food waste",
      "AS: organizers for craft supplies | storage for screws and nails"),
    # ---------------------------------------------------------------- Baby
    T("stroller", "Baby", "baby stroller", "Little Voyager, Bumblebee, Nestling",
      ["{brand} Lightweight Travel Stroller with Canopy, {color}",
       "{brand} All-Terrain Jogging Stroller, {color}",
       "{brand} Double Stroller for Twins, {color}"],
      {"color": ["black", "grey", "navy", "olive"]},
      ["stroller", "lightweight stroller for travel", "jogging stroller", "double stroller",
       "stroller for winter"],
      "F: carry a baby on walks | push a toddler through the park;"
      "C: fold with one hand | roll smoothly over gravel; E: a family trip to the zoo | daily walks;"
      "A: new parents | parents of twins; T: take a baby shopping; LOC: the park | an airport;"
      "ON: sunny afternoons; WITH: a stroller footmuff | a diaper bag; BY: parents | nannies;"
      "ISA: a type of baby carriage; INT: parenting | jogging; XISA: a new parent;"
      "WANT: take the baby for walks | go jogging with their baby",
      "AS: a shopping cart at the farmers market | a cart for moving boxes"),
    T("snowsuit", "Baby", "baby snowsuit", "Snugglebug, Little Voyager",
      ["{brand} Baby Fleece Snowsuit with Hood, {size}, {color}",
       "{brand} Infant Winter Bunting Bag, {color}",
       "{brand} Stroller Footmuff, Water-Resistant, {color}"],
      {"color": ["pink", "grey", "navy", "cream"], "size": ["0-3 months", "3-6 months", "6-12 months"]},
      ["baby snowsuit", "winter clothes for newborn", "stroller footmuff", "baby bunting bag"],
      "F: keep a baby warm during winter walks | block wind in the stroller;"
      "C: zip open for quick diaper changes; E: a winter stroll | a trip to see Christmas lights;"
      "A: newborns | infants born in winter; T: bundle up a baby for the cold;"
      "LOC: a stroller | a baby carrier; ON: cold winter days; WITH: a stroller | baby mittens;"
      "BY: babies; ISA: a type of baby outerwear; XISA: a parent of a newborn;"
      "WANT: keep their baby cozy outdoors",
      "AS: a sleep sack at night | a blanket for a pet carrier"),
    T("baby_monitor", "Baby", "baby monitor", "Nestling, Hushwatch",
      ["{brand} Video Baby Monitor with 5-Inch Screen and Night Vision",
       "{brand} Wi-Fi Baby Camera with App Alerts",
       "{brand} Audio Baby Monitor, Long Range"],
      {"connectivity": ["wifi", "radio"], "color": ["white", "grey"]},
      ["baby monitor", "video baby monitor", "baby monitor without wifi", "night vision baby camera"],
      "F: watch a sleeping baby from another room | hear a baby cry at night;"
      "C: see in the dark with night vision | alert parents to crying; E: nap time | bedtime;"
      "A: new parents; T: check on a napping baby while cooking; LOC: the nursery;"
      "WITH: a crib; BY: parents | babysitters; ISA: a type of home camera; INT: baby safety;"
      "XISA: a new parent; WANT: check on the baby without waking them",
      "F: keep an eye on a puppy in its crate | watch over an elderly relative at night"),
    T("teether", "Baby", "teething toy", "Chewbie, Little Grin",
      ["{brand} Silicone Teething Ring, BPA-Free, {color}",
       "{brand} Banana Teething Toothbrush, {color}",
       "{brand} Freezer Teether Set, 3 Pack"],
      {"color": ["mint", "pink", "yellow"], "material": ["food-grade silicone", "natural rubber"]},
      ["teething toys", "teether for 3 month old", "baby teething relief", "freezer teether"],
      "F: soothe sore gums | give a teething baby something safe to chew; C: be chilled in the fridge;"
      "E: a long car ride | the arrival of the first tooth; A: teething babies | infants 3 to 12 months;"
      "T: calm a baby during teething; BODY: gums | mouth; LOC: the nursery | a car seat;"
      "WITH: a pacifier clip; BY: babies; ISA: a type of baby toy; XISA: a parent of a teething baby;"
      "WANT: calm a fussy teething baby",
      "BY: a teething puppy; AS: a rattle"),
    T("diaper_bag", "Baby", "diaper bag", "Tote & Tot, Nestling",
      ["{brand} Diaper Backpack with Changing Pad, {color}",
       "{brand} Vegan Leather Diaper Tote, {color}",
       "{brand} Compact Diaper Clutch, {color}"],
      {"color": ["black", "grey", "tan", "floral"]},
      ["diaper bag", "diaper backpack", "diaper bag for dad"],
      "F: carry diapers and wipes | organize baby essentials on the go;"
      "C: keep bottles warm in insulated pockets; E: a day trip with a baby | a flight with an infant;"
      "A: new parents | dads; T: pack everything for a day out; LOC: the car | a pediatrician's office;"
      "WITH: a stroller | a changing pad; BY: parents | grandparents; ISA: a type of bag;"
      "XISA: a parent; WANT: have everything for the baby in one bag",
      "AS: a gym bag | a laptop bag for work"),
    # ---------------------------------------------------------------- Electronics
    T("phone_case", "Electronics", "phone case", "Armorline, Clearcase, ShieldTek",
      ["{brand} Shockproof Case for Phone 15, {color}",
       "{brand} Slim Clear Phone Case with MagSafe, {color}",
       "{brand} Wallet Phone Case with Card Holder, {color}"],
      {"color": ["black", "clear", "blue", "pink"], "material": ["TPU", "silicone", "leather"]},
      ["phone case", "shockproof phone case", "wallet phone case", "clear case magsafe"],
      "F: protect a phone from drops | hold a few cards;"
      "C: absorb the shock of a fall | keep the screen off the table; E: a trip to the beach;"
      "A: clumsy phone owners | teenagers; T: keep a phone looking new;"
      "WITH: a screen protector | a wireless charger; BY: smartphone users;"
      "ISA: a type of phone accessory; XISA: a smartphone owner;"
      "WANT: keep a new phone safe from scratches; INT: phone accessories",
      "AS: a bottle opener | a small mirror"),
    T("smartphone", "Electronics", "smartphone", "Novaphone, Pixelon",
      ['{brand} 5G Smartphone, 128GB, 6.1" Display, {color}',
       "{brand} Budget Android Phone, 64GB, {color}",
       "{brand} Pro Smartphone with Triple Camera, 256GB, {color}"],
      {"color": ["black", "silver", "blue"], "unlocked": [True, False]},
      ["smartphone", "unlocked phone", "cheap android phone", "phone with good camera"],
      "F: make calls and send messages | take photos; C: record 4K video | navigate with GPS;"
      "E: a vacation | a concert; A: teenagers | seniors; T: stay in touch with family;"
      "WITH: a phone case | wireless earbuds; BY: students | commuters; ISA: a type of mobile phone;"
      "INT: photography | mobile gaming; XISA: a tech enthusiast; WANT: upgrade an old phone",
      "AS: a baby monitor with an app | a TV remote"),
    T("earbuds", "Electronics", "wireless earbuds", "Soundloop, Audiora",
      ["{brand} Wireless Earbuds with Noise Cancelling, {color}",
       "{brand} Sport Earbuds with Ear Hooks, Sweatproof, {color}",
       "{brand} Kids' Volume-Limited Earbuds, {color}"],
      {"color": ["black", "white", "blue"], "battery_hours": [6, 8, 10]},
      ["wireless earbuds", "noise cancelling earbuds", "earbuds for running", "bluetooth earphones"],
      "F: listen to music without wires | block out noise on a commute;"
      "C: stay in during workouts | last eight hours on one charge; E: a long flight | a gym workout;"
      "A: commuters | runners; T: take calls hands-free; LOC: the gym | a train; BODY: ears;"
      "WITH: a smartphone | a charging case; BY: commuters | students; ISA: a type of headphones;"
      "INT: music | podcasts; XISA: a music lover; WANT: listen to podcasts while running",
      "AS: earplugs for sleeping; F: hear the TV better without disturbing others"),
    T("power_bank", "Electronics", "power bank", "Voltpack, ChargeUp",
      ["{brand} 20000mAh Portable Charger, USB-C PD, {color}",
       "{brand} Slim 10000mAh Power Bank, {color}",
       "{brand} Solar Power Bank with Flashlight"],
      {"color": ["black", "white", "blue"], "ports": [2, 3]},
      ["power bank", "portable charger", "solar charger for camping", "battery pack for phone"],
      "F: charge a phone on the go | keep devices powered during travel;"
      "C: charge two devices at once | recharge a phone three times;"
      "E: a long flight | a camping trip | a power outage; A: travelers | festival-goers;"
      "T: top up a phone between meetings; LOC: an airport | a campsite;"
      "WITH: a USB-C cable | a smartphone; BY: travelers | students; ISA: a type of battery;"
      "INT: travel; XISA: a frequent traveler; WANT: never run out of battery",
      "AS: a hand warmer; F: power a small desk fan"),
    T("laptop", "Electronics", "laptop", "Zenbyte, Corevo",
      ['{brand} 14" Ultrabook Laptop, 16GB RAM, 512GB SSD, {color}',
       '{brand} 15.6" Student Laptop, 8GB RAM, {color}',
       '{brand} 16" Gaming Laptop with RTX Graphics'],
      {"color": ["silver", "grey", "black"], "os": ["Windows", "ChromeOS"]},
      ["laptop", "laptop for college", "gaming laptop", "lightweight laptop for travel"],
      "F: write papers | work from home; C: run video editing software | last a full school day on battery;"
      "E: the start of college | a business trip; A: college students | gamers;"
      "T: attend online classes; LOC: a dorm room | a coffee shop;"
      "WITH: a laptop sleeve | a wireless mouse; BY: students | remote workers;"
      "ISA: a type of computer; INT: gaming | programming; XISA: a student | a remote worker;"
      "WANT: take notes in class | play games",
      "AS: a digital photo frame | a second screen for a desktop"),
    # ---------------------------------------------------------------- Sports & Fitness
    T("yoga_mat", "Sports & Fitness", "yoga mat", "Zenflow, Balancia",
      ["{brand} Extra-Thick Yoga Mat, 6mm, Non-Slip, {color}",
       "{brand} Foldable Travel Yoga Mat, {color}",
       "{brand} Cork Yoga Mat with Carrying Strap"],
      {"color": ["purple", "teal", "black", "natural"], "material": ["TPE", "natural rubber", "cork"]},
      ["yoga mat", "thick yoga mat", "non slip yoga mat", "exercise mat for home workouts",
       "yoga mat for bad knees"],
      "F: cushion joints during floor exercises | provide grip during yoga poses;"
      "C: stay put on hardwood floors | roll up for easy carrying;"
      "E: a yoga class | a morning stretching routine; A: yoga beginners | people with sensitive knees;"
      "T: practice balance poses without slipping; LOC: a yoga studio | the living room;"
      "BODY: knees | wrists; WITH: yoga blocks | a yoga strap; BY: yogis | pilates instructors;"
      "ISA: a type of exercise mat; INT: yoga | pilates; XISA: a yogi; WANT: practice yoga at home;"
      "ON: hardwood floors",
      "AS: a picnic blanket | a camping sleeping pad; F: line a dog crate"),
    T("dumbbells", "Sports & Fitness", "dumbbells", "Ironcore, Flexa",
      ["{brand} Adjustable Dumbbell Set, 5-52.5 lb",
       "{brand} Neoprene Coated Dumbbells, Pair of 10 lb, {color}",
       "{brand} Hex Rubber Dumbbell, 25 lb"],
      {"color": ["black", "pink", "blue"]},
      ["dumbbells", "adjustable dumbbells", "light weights for women", "hex dumbbells"],
      "F: build arm strength | add resistance to workouts;"
      "C: replace a rack of weights | change weight in seconds;"
      "E: a home workout | rehab exercises after an injury;"
      "A: people training at home | seniors staying strong; T: tone the upper body;"
      "LOC: a home gym | a garage; BODY: arms | shoulders; WITH: a weight bench | a workout mat;"
      "BY: weightlifters | personal trainers; ISA: a type of free weight;"
      "INT: strength training | bodybuilding; XISA: a fitness enthusiast;"
      "WANT: get stronger without a gym membership",
      "AS: a doorstop | a paperweight"),
    T("resistance_bands", "Sports & Fitness", "resistance bands", "Flexa, Tensio",
      ["{brand} Resistance Bands Set with Handles, 5 Levels",
       "{brand} Fabric Booty Bands, Set of 3, {color}",
       "{brand} Pull-Up Assist Bands, {color}"],
      {"color": ["multicolor", "black", "pink"]},
      ["resistance bands", "workout bands for legs", "pull up assistance band", "travel workout equipment"],
      "F: strengthen muscles without weights | stretch after runs; C: fit in a suitcase;"
      "E: a hotel room workout | physical therapy sessions;"
      "A: travelers who work out | people recovering from injury; T: warm up before lifting;"
      "LOC: a hotel room | the living room; BODY: legs | glutes | shoulders;"
      "WITH: a door anchor | a yoga mat; BY: physical therapists | athletes;"
      "ISA: a type of exercise equipment; INT: fitness; XISA: a fitness enthusiast;"
      "WANT: work out while traveling",
      "AS: a strap to hold luggage together | a stretchy tow line for a kids' wagon"),
    T("water_bottle", "Sports & Fitness", "water bottle", "Hydrapeak, Coldkeep",
      ["{brand} Insulated Stainless Steel Water Bottle, 32 oz, {color}",
       "{brand} Kids' Water Bottle with Straw, 12 oz, {color}",
       "{brand} Collapsible Silicone Water Bottle, {color}"],
      {"color": ["black", "teal", "white", "coral"], "dishwasher_safe": [True, False]},
      ["water bottle", "insulated water bottle", "kids water bottle", "water bottle for gym"],
      "F: keep water cold all day | stay hydrated during workouts;"
      "C: keep drinks cold for 24 hours | fit in a car cup holder;"
      "E: a gym session | a long hike | a school day; A: athletes | kids;"
      "T: cut down on plastic bottles; LOC: the gym | a classroom; WITH: a gym bag | a lunch box;"
      "BY: hikers | students; ISA: a type of drinkware; INT: fitness | hiking;"
      "XISA: an active person; WANT: drink more water",
      "AS: a vase; F: keep soup hot for lunch"),
    T("soccer_ball", "Sports & Fitness", "soccer ball", "Kickline, Goalstar",
      ["{brand} Official Size 5 Soccer Ball, {color}",
       "{brand} Youth Soccer Ball, Size 4, {color}",
       "{brand} Low-Bounce Indoor Futsal Ball"],
      {"color": ["white and black", "yellow", "blue"]},
      ["soccer ball", "soccer ball size 4", "soccer gifts for kids", "futsal ball"],
      "F: practice soccer drills | play pickup games; C: hold its shape after many kicks;"
      "E: a soccer practice | a backyard game; A: youth soccer players | soccer fans;"
      "T: practice dribbling; LOC: a soccer field | the backyard; BODY: feet;"
      "WITH: soccer cleats | shin guards; BY: soccer players | coaches; ISA: a type of sports ball;"
      "INT: soccer; XISA: a soccer player | a soccer coach; WANT: practice dribbling at home",
      "AS: a dog toy | a centerpiece for a soccer-themed party"),
    T("bike_helmet", "Sports & Fitness", "bike helmet", "Safeguard, Zoomie",
      ["{brand} Kids' Bike Helmet, Adjustable, {color}",
       "{brand} Adult Commuter Bike Helmet with Rear Light, {color}",
       "{brand} Multi-Sport Skate Helmet, {color}"],
      {"color": ["matte black", "red", "blue", "mint"], "size": ["S", "M", "L"]},
      ["bike helmet", "kids helmet", "helmet for skateboarding", "bike helmet with light"],
      "F: protect the head in a fall; C: absorb impact | stay cool with vents;"
      "E: a bike ride to school | a skatepark session; A: kids learning to ride | commuters;"
      "T: ride to work safely; LOC: bike paths | a skatepark; BODY: head;"
      "WITH: a bicycle | knee pads; BY: cyclists | skateboarders; ISA: a type of protective gear;"
      "INT: cycling; XISA: a cyclist | a parent; WANT: ride safely",
      "AS: part of a Halloween costume | a helmet for a snowball fight"),
    # ---------------------------------------------------------------- Pet Supplies
    T("puppy_food", "Pet Supplies", "puppy food", "Pawsome, Barkley Farms",
      ["{brand} Puppy Dry Food, Chicken & Rice, 15 lb",
       "{brand} Grain-Free Puppy Kibble, Salmon, 24 lb",
       "{brand} Small Breed Puppy Food, Lamb, 5 lb"],
      {"life_stage": ["puppy"], "grain_free": [True, False]},
      ["puppy food", "small breed puppy food", "grain free puppy food", "dry food for puppies"],
      "F: feed a growing puppy | support healthy growth; C: soften in warm water for young puppies;"
      "E: bringing home a new puppy; A: puppies | small breed puppies;"
      "T: switch a puppy off the breeder's food; LOC: a puppy's food bowl;"
      "WITH: a slow-feeder bowl | puppy training treats; BY: puppies | dog breeders;"
      "ISA: a type of dog food; INT: raising a puppy; XISA: a new puppy owner;"
      "WANT: give their puppy a healthy diet",
      "AS: training treats; F: feed a stray cat"),
    T("chew_toy", "Pet Supplies", "dog chew toy", "Chompy, Pawsome",
      ["{brand} Durable Rubber Chew Toy for Aggressive Chewers, {color}",
       "{brand} Puppy Teething Chew Ring, {color}",
       "{brand} Treat-Dispensing Chew Ball, {color}"],
      {"color": ["red", "blue", "green"], "size": ["small", "medium", "large"]},
      ["dog chew toy", "toys for aggressive chewers", "puppy teething toy", "indestructible dog toy"],
      "F: keep a dog busy | soothe a teething puppy; C: survive heavy chewing | hold treats inside;"
      "E: time home alone | a rainy day indoors; A: puppies | aggressive chewers;"
      "T: redirect chewing away from furniture; LOC: the backyard | a dog crate; BODY: teeth | gums;"
      "WITH: peanut butter | dog treats; BY: dogs | puppies; ISA: a type of dog toy; INT: dogs;"
      "XISA: a dog owner; WANT: stop their puppy from chewing shoes",
      "AS: a doorstop | a fetch toy for the pool"),
    T("cat_litter", "Pet Supplies", "cat litter", "Purrfect, Whiskerway",
      ["{brand} Clumping Clay Cat Litter, Unscented, 25 lb",
       "{brand} Natural Pine Cat Litter, 20 lb",
       "{brand} Self-Cleaning Litter Box, {color}"],
      {"color": ["grey", "white"], "scent": ["unscented", "lavender"]},
      ["cat litter", "unscented clumping litter", "litter box", "litter for kittens"],
      "F: absorb cat urine | control litter box odor; C: form tight clumps | lock in smells;"
      "E: bringing home a new kitten; A: cats | multi-cat households; T: make scooping easier;"
      "LOC: a laundry room | a bathroom; WITH: a litter scoop | a litter mat; BY: cats;"
      "ISA: a type of pet supply; XISA: a cat owner; WANT: keep the house from smelling",
      "AS: traction on an icy driveway; F: absorb oil spills in the garage"),
    T("dog_harness", "Pet Supplies", "dog harness", "Walkwell, Trailpup",
      ["{brand} No-Pull Dog Harness with Front Clip, {color}",
       "{brand} Reflective Dog Leash, 6 ft, {color}",
       "{brand} Retractable Dog Leash, 16 ft, {color}"],
      {"color": ["red", "black", "blue", "pink"], "size": ["S", "M", "L"]},
      ["dog harness", "no pull harness", "dog leash", "reflective leash for night walks"],
      "F: walk a dog safely | stop a dog from pulling; C: reflect car headlights at night;"
      "E: a morning dog walk | a hike with a dog; A: dogs that pull | puppy owners;"
      "T: train a puppy to walk on a leash; LOC: the park | a hiking trail;"
      "WITH: a poop bag holder | a dog collar; BY: dog walkers; ISA: a type of dog gear;"
      "INT: dogs | hiking; XISA: a dog owner; WANT: enjoy calm walks with their dog",
      "BY: cats that go outside | a pet rabbit"),
    T("cat_tree", "Pet Supplies", "cat tree", "Whiskerway, Purrfect",
      ["{brand} 5-Tier Cat Tree with Scratching Posts, {color}",
       "{brand} Wall-Mounted Cat Shelves, Set of 3",
       "{brand} Sisal Scratching Post, 32 Inch, {color}"],
      {"color": ["beige", "grey", "white"]},
      ["cat tree", "scratching post", "cat furniture for large cats", "cat tower for kittens"],
      "F: give cats a place to climb | save the couch from scratching; C: hold a large cat;"
      "E: adopting a kitten; A: indoor cats | kittens; T: keep claws healthy;"
      "LOC: the living room | a sunny window; WITH: catnip | cat toys; BY: cats;"
      "ISA: a type of cat furniture; XISA: a cat owner; WANT: keep their cat entertained indoors",
      "BY: a pet ferret; AS: a plant stand"),
    # ---------------------------------------------------------------- Beauty
    T("sunscreen", "Beauty", "sunscreen", "Solara, Dermaleaf",
      ["{brand} Mineral Sunscreen Lotion SPF 50, 3 oz",
       "{brand} Kids' Sport Sunscreen Spray SPF 70",
       "{brand} Tinted Daily Face Sunscreen SPF 30"],
      {"water_resistant": [True, False], "scent": ["unscented", "coconut"]},
      ["sunscreen", "reef safe sunscreen", "kids sunscreen", "face sunscreen for oily skin"],
      "F: protect skin from sunburn | block UV rays; C: stay on while swimming;"
      "E: a beach vacation | an outdoor soccer game; A: kids | people with sensitive skin;"
      "T: prevent sun damage; LOC: the beach | a pool; BODY: face | skin; ON: sunny days;"
      "WITH: a beach towel | sunglasses; BY: swimmers | lifeguards; ISA: a type of skin care;"
      "INT: skin care; XISA: a beachgoer; WANT: avoid sunburn at the beach",
      "F: prime skin under makeup; ON: cloudy winter days"),
    T("shampoo", "Beauty", "shampoo", "Purelock, Verdant",
      ["{brand} Sulfate-Free Moisturizing Shampoo, 16 oz",
       "{brand} Anti-Dandruff Shampoo with Zinc, 13 oz",
       "{brand} Tear-Free Baby Shampoo and Wash, 8 oz"],
      {"scent": ["coconut", "unscented", "tea tree"]},
      ["shampoo", "sulfate free shampoo", "dandruff shampoo", "shampoo for curly hair"],
      "F: wash hair | treat a flaky scalp; C: lather without sulfates | calm an itchy scalp;"
      "E: the daily shower; A: people with curly hair | people with dandruff;"
      "T: remove buildup from hair; LOC: the shower; BODY: hair | scalp; WITH: conditioner;"
      "BY: people with color-treated hair; ISA: a type of hair care; INT: hair care;"
      "XISA: someone with curly hair; WANT: get rid of dandruff",
      "F: wash delicate sweaters by hand | clean makeup brushes"),
    T("moisturizer", "Beauty", "face moisturizer", "Dermaleaf, Glowmere",
      ["{brand} Hyaluronic Acid Face Moisturizer, 1.7 oz",
       "{brand} Oil-Free Gel Moisturizer for Oily Skin",
       "{brand} Night Cream with Retinol"],
      {"skin_type": ["dry", "oily", "combination"]},
      ["face moisturizer", "moisturizer for dry skin", "night cream", "skincare gift set"],
      "F: hydrate dry skin | smooth fine lines; C: absorb quickly without grease;"
      "E: a nighttime skincare routine | winter months; A: people with dry skin | teenagers with oily skin;"
      "T: keep skin soft; LOC: the bathroom; BODY: face | neck; ON: cold windy days;"
      "WITH: a face cleanser | sunscreen; ISA: a type of skin care; INT: skin care;"
      "XISA: a skincare enthusiast; WANT: wake up with soft skin",
      "F: soothe chapped hands; AS: a makeup primer"),
    T("hair_dryer", "Beauty", "hair dryer", "Aeris, Blowout Pro",
      ["{brand} Ionic Hair Dryer, 1875W, {color}",
       "{brand} Foldable Travel Hair Dryer, Dual Voltage, {color}",
       "{brand} Hair Dryer Brush, One-Step Volumizer, {color}"],
      {"color": ["black", "rose gold", "white"]},
      ["hair dryer", "travel hair dryer", "blow dryer brush", "hair dryer for thick hair"],
      "F: dry hair quickly | style hair with volume; C: reduce frizz;"
      "E: getting ready for a party | a morning routine before work;"
      "A: people with thick hair | travelers; T: blow out hair at home; LOC: the bathroom | a hotel room;"
      "BODY: hair; WITH: a round brush | heat protectant spray; BY: hairstylists;"
      "ISA: a type of styling tool; INT: hairstyling; XISA: someone who styles their hair daily;"
      "WANT: dry their hair in five minutes",
      "F: defrost a freezer | dry wet shoes | loosen old sticker glue"),
    T("toothbrush", "Beauty", "electric toothbrush", "Brightsmile, Oralis",
      ["{brand} Rechargeable Sonic Toothbrush with 2 Heads, {color}",
       "{brand} Kids' Electric Toothbrush with Timer, {color}",
       "{brand} Travel Electric Toothbrush with Case, {color}"],
      {"color": ["white", "black", "blue", "pink"]},
      ["electric toothbrush", "kids electric toothbrush", "sonic toothbrush",
       "toothbrush for sensitive gums"],
      "F: clean teeth | remove plaque; C: time two minutes of brushing;"
      "E: morning and bedtime routines; A: kids learning to brush | people with braces;"
      "T: brush gently along the gumline; LOC: the bathroom; BODY: teeth | gums;"
      "WITH: toothpaste | replacement brush heads; ISA: a type of oral care device;"
      "INT: dental health; XISA: someone who cares about dental hygiene; WANT: keep their teeth healthy",
      "F: scrub grout lines | clean jewelry"),
    # ---------------------------------------------------------------- Home & Garden
    T("garden_hose", "Home & Garden", "garden hose", "Greenreach, Yardly",
      ["{brand} Expandable Garden Hose, 50 ft, with Spray Nozzle",
       "{brand} Heavy-Duty Rubber Garden Hose, 100 ft, {color}",
       "{brand} Soaker Hose for Vegetable Beds, 25 ft"],
      {"color": ["green", "blue", "black"]},
      ["garden hose", "expandable hose", "soaker hose", "hose for watering vegetables"],
      "F: water the garden | wash the car; C: expand to three times its length | resist kinks;"
      "E: spring planting | a summer car wash; A: gardeners | homeowners;"
      "T: water tomatoes at the roots; LOC: the backyard | a vegetable garden; ON: hot summer days;"
      "WITH: a hose reel | a spray nozzle; BY: gardeners; ISA: a type of watering tool;"
      "INT: gardening; XISA: a gardener | a homeowner; WANT: keep the lawn green",
      "AS: a water slide for kids | a guide line for laying out a curved flower bed"),
    T("robot_vacuum", "Home & Garden", "robot vacuum", "Dustbot, Cleanwave",
      ["{brand} Robot Vacuum with Self-Emptying Base",
       "{brand} Robot Vacuum and Mop Combo, Wi-Fi, {color}",
       "{brand} Slim Robot Vacuum for Pet Hair, {color}"],
      {"color": ["black", "white"], "wifi": [True]},
      ["robot vacuum", "vacuum for pet hair", "robot mop", "self emptying robot vacuum"],
      "F: clean floors automatically | pick up pet hair; C: map the house | run on a schedule;"
      "E: daily cleaning while at work | preparing for guests; A: pet owners | busy families;"
      "T: keep crumbs off the kitchen floor; LOC: the living room | apartments with hard floors;"
      "ON: hardwood floors | low-pile carpet; WITH: a phone app | replacement brushes;"
      "BY: pet owners; ISA: a type of vacuum cleaner; INT: smart home gadgets;"
      "XISA: a busy professional | a pet owner; WANT: come home to clean floors",
      "F: entertain a bored cat; AS: a moving camera to check on pets"),
    T("throw_blanket", "Home & Garden", "throw blanket", "Hearthside, Cozyhaus",
      ["{brand} Sherpa Fleece Throw Blanket, 50x60, {color}",
       "{brand} Chunky Knit Throw, {color}",
       "{brand} Weighted Blanket, 15 lb, {color}"],
      {"color": ["cream", "grey", "sage", "rust"], "material": ["fleece", "cotton", "acrylic"]},
      ["throw blanket", "weighted blanket", "cozy blanket for couch", "knit throw"],
      "F: keep warm on the couch | decorate a sofa; C: calm anxiety with gentle pressure;"
      "E: a movie night | a cold winter evening; A: people who get cold easily;"
      "T: add texture to a living room; LOC: the living room | a reading nook; ON: chilly evenings;"
      "WITH: a couch | throw pillows; ISA: a type of blanket; INT: home decor; XISA: a homebody;"
      "WANT: cuddle up with a book",
      "AS: a picnic blanket | a pet bed | a tablecloth"),
    T("string_lights", "Home & Garden", "string lights", "Glowmoor, Brightnest",
      ["{brand} Outdoor String Lights, 48 ft, Shatterproof Bulbs",
       "{brand} Fairy Lights with Remote, 33 ft, {color}",
       "{brand} Solar Garden String Lights, {color}"],
      {"color": ["warm white", "multicolor"], "outdoor": [True, False]},
      ["string lights", "outdoor patio lights", "fairy lights for bedroom", "christmas lights"],
      "F: light up a patio | decorate a bedroom; C: run on solar power | withstand rain;"
      "E: a backyard party | Christmas | a wedding reception; A: college students decorating dorms;"
      "T: create a cozy glow; LOC: the patio | a dorm room; ON: summer evenings;"
      "WITH: a timer plug | patio furniture; ISA: a type of decorative lighting; INT: home decor;"
      "XISA: a host who loves parties; WANT: create a cozy atmosphere in the backyard",
      "F: light a tent at a campsite | decorate a bicycle for a parade"),
    T("pruning_shears", "Home & Garden", "pruning shears", "Greenreach, Thornwell",
      ["{brand} Bypass Pruning Shears, Titanium Blades",
       "{brand} Ratchet Pruners for Weak Hands",
       "{brand} Long-Reach Lopper, 30 Inch"],
      {"blade": ["titanium", "carbon steel"], "color": ["red", "orange", "green"]},
      ["pruning shears", "garden shears", "loppers for thick branches", "pruners for arthritis"],
      "F: trim rose bushes | cut small branches; C: cut through branches up to an inch thick;"
      "E: spring garden cleanup; A: gardeners | people with arthritis; T: shape shrubs;"
      "LOC: the garden | an orchard; WITH: gardening gloves | a yard waste bag;"
      "BY: gardeners | landscapers; ISA: a type of garden tool; INT: gardening;"
      "XISA: a gardener; WANT: keep the hedges tidy",
      "F: trim a Christmas tree; AS: kitchen scissors for fresh herbs"),
    # ---------------------------------------------------------------- Toys
    T("building_blocks", "Toys", "building blocks", "Brickville, Snapworks",
      ["{brand} Classic Building Bricks, 500 Pieces",
       "{brand} Space Station Building Set, 820 Pieces",
       "{brand} Toddler Large Building Blocks, 80 Pieces"],
      {"age_range": ["1-3", "4-7", "8-12"]},
      ["building blocks", "building set for 8 year old", "toddler blocks", "stem toys"],
      "F: build creative models | develop fine motor skills; C: snap together and apart easily;"
      "E: a birthday party | a rainy weekend; A: kids aged 4 to 12 | adult fans of building sets;"
      "T: teach kids basic engineering; LOC: the playroom | a classroom;"
      "WITH: a storage bin | a baseplate; BY: children | families; ISA: a type of construction toy;"
      "INT: building | engineering; XISA: a parent | a grandparent;"
      "WANT: keep kids busy away from screens",
      "F: make a phone stand; AS: a cake topper"),
    T("board_game", "Toys", "board game", "Tabletop Co, Gameknight",
      ["{brand} Family Strategy Board Game, 2-6 Players",
       "{brand} Cooperative Kids' Board Game, Ages 5+",
       "{brand} Party Card Game for Adults"],
      {"players": ["2-4", "2-6", "4-10"]},
      ["board games", "family board games", "games for game night", "card game for adults"],
      "F: entertain a family on game night | teach kids to take turns; C: be played in 30 minutes;"
      "E: a family game night | a holiday gathering; A: families | groups of friends;"
      "T: bring friends together; LOC: the dining table | a vacation cabin;"
      "WITH: card sleeves | snacks; BY: families | friends; ISA: a type of tabletop game;"
      "INT: board games | strategy games; XISA: a board game fan; WANT: spend quality time with family",
      "F: teach English vocabulary; AS: a classroom reward"),
    T("plush_toy", "Toys", "stuffed animal", "Snuggle Pals, Cuddlewood",
      ["{brand} Plush Teddy Bear, 16 Inch, {color}",
       "{brand} Stuffed Dinosaur Toy, {color}",
       "{brand} Weighted Plush Sloth, {color}"],
      {"color": ["brown", "green", "grey"], "machine_washable": [True, False]},
      ["teddy bear", "stuffed animal", "plush dinosaur", "valentines gift"],
      "F: comfort a child at bedtime; C: survive the washing machine;"
      "E: Valentine's Day | a hospital stay; A: toddlers | kids afraid of the dark;"
      "T: help a child fall asleep; LOC: a child's bed | the nursery; WITH: a bedtime story book;"
      "BY: children; ISA: a type of stuffed toy; XISA: a grandparent | a romantic partner;"
      "WANT: give a cuddly gift",
      "AS: a travel pillow on a long flight | a dog toy"),
    T("kids_bike", "Toys", "kids bike", "Zoomie, Pedalpal",
      ["{brand} Kids' Balance Bike, 12 Inch, {color}",
       "{brand} Kids' Bike with Training Wheels, 16 Inch, {color}",
       "{brand} Three-Wheel Kick Scooter, {color}"],
      {"color": ["red", "blue", "pink", "green"], "age_range": ["2-5", "4-8"]},
      ["kids bike", "balance bike for toddler", "scooter for kids", "bike with training wheels"],
      "F: teach a toddler to balance | let kids ride around the neighborhood;"
      "C: adjust seat height as the child grows; E: a birthday | a trip to the park;"
      "A: toddlers | kids learning to ride; T: build confidence on two wheels;"
      "LOC: the driveway | the park; ON: sidewalks | sunny weekends;"
      "WITH: a kids' helmet | knee pads; BY: children; ISA: a type of ride-on toy;"
      "INT: cycling; XISA: a parent; WANT: teach their child to ride a bike",
      "AS: a photo prop for a birthday shoot | a garden decoration"),
]
TYPE_BY_KEY = {t.key: t for t in TYPES}

# Extra good tails for particular specific queries (the query says more than the product does).
QUERY_TAILS = {
    "winter boots for pregnant women": "A: pregnant women | expectant mothers;"
    "WANT: avoid slipping on ice during pregnancy; XISA: an expectant mother;"
    "F: keep balance on icy sidewalks during pregnancy",
    "boots for muddy trails": "ON: muddy trails; F: shed mud from the soles",
    "blender for baby food": "F: puree vegetables for a baby; A: parents starting solids;"
    "XISA: a parent of an infant",
    "yoga mat for bad knees": "F: cushion sore knees; A: people with knee pain",
    "tent for music festival": "E: a three-day music festival; WANT: sleep at a festival campsite",
    "running shoes for flat feet": "A: runners with flat feet; F: support flat arches",
    "reflective leash for night walks": "E: a night walk; ON: dark evenings",
    "headlamp for running at night": "E: a night run; A: runners who train before sunrise",
    "laptop for college": "E: the first semester of college; XISA: a college freshman",
    "kids snow boots waterproof": "A: kids who play in the snow; E: building a snowman",
    "stroller for winter": "ON: cold winter days; WITH: a stroller footmuff",
    "diaper bag for dad": "A: dads; XISA: a new father",
    "pruners for arthritis": "A: gardeners with arthritis; F: cut branches with less hand strain",
    "light weights for women": "A: women starting strength training",
    "solar charger for camping": "E: a camping trip without power outlets; LOC: a remote campsite",
    "face sunscreen for oily skin": "A: people with oily skin; C: leave no greasy shine",
}

# Broad queries lead to products of several types (often across categories).
BROAD: list[tuple[str, list[str], str]] = [
    ("gift for dad",
     ["skillet", "chef_knife", "earbuds", "power_bank", "headlamp", "pruning_shears", "board_game",
      "coffee_maker"],
     "E: Father's Day | his birthday; WANT: find a useful gift for their father; A: dads;"
     "XISA: an adult child shopping for a parent"),
    ("gift for mom",
     ["throw_blanket", "moisturizer", "pruning_shears", "coffee_maker", "slipper", "string_lights"],
     "E: Mother's Day; WANT: show their mother appreciation; A: moms"),
    ("camping", ["tent", "sleeping_bag", "sleeping_pad", "headlamp", "camp_stove", "power_bank"],
     "E: a camping trip; INT: camping; XISA: a camper"),
    ("shoes", ["hiking_boot", "running_shoe", "winter_boot", "slipper", "rain_boot"], ""),
    ("birthday gift for 5 year old",
     ["building_blocks", "board_game", "plush_toy", "kids_bike", "soccer_ball"],
     "E: a fifth birthday party; A: five-year-olds; XISA: a party guest"),
    ("new puppy", ["puppy_food", "chew_toy", "dog_harness"],
     "E: bringing home a new puppy; XISA: a new puppy owner"),
    ("new kitten", ["cat_litter", "cat_tree"], "E: adopting a kitten; XISA: a new cat owner"),
    ("home gym", ["dumbbells", "resistance_bands", "yoga_mat"],
     "LOC: a garage gym; WANT: work out without a gym membership"),
    ("baby shower gift", ["diaper_bag", "baby_monitor", "teether", "plush_toy", "snowsuit"],
     "E: a baby shower; A: expecting parents"),
    ("back to school", ["laptop", "water_bottle", "earbuds", "power_bank"],
     "E: the first day of school; A: students"),
    ("christmas gifts",
     ["board_game", "string_lights", "throw_blanket", "earbuds", "plush_toy", "building_blocks"],
     "E: Christmas"),
    ("dorm room essentials", ["string_lights", "throw_blanket", "power_bank", "food_storage"],
     "LOC: a dorm room; A: college freshmen"),
    ("beach vacation", ["sunscreen", "water_bottle", "power_bank"], "E: a beach vacation; LOC: the beach"),
    ("winter", ["winter_boot", "throw_blanket", "snowsuit", "slipper", "sleeping_bag"],
     "ON: cold winter days"),
    ("housewarming gift", ["throw_blanket", "string_lights", "skillet", "coffee_maker"],
     "E: a housewarming party; XISA: a guest at a housewarming"),
    ("self care", ["moisturizer", "yoga_mat", "throw_blanket", "shampoo"], "WANT: relax after a long week"),
    ("gardening", ["garden_hose", "pruning_shears", "rain_boot"], "INT: gardening; XISA: a gardener"),
]

# Products plausibly bought together, with tails about the pair.
CO_BUY: list[tuple[str, str, str, str]] = [
    ("tent", "sleeping_pad",
     "E: a family camping trip | an overnight backpacking trip; F: sleep comfortably outdoors;"
     "LOC: a campsite; WANT: go camping for the first time; BY: campers; XISA: a camper",
     "E: a backyard sleepover for kids"),
    ("tent", "sleeping_bag",
     "E: a camping trip | a scout campout; F: stay warm and dry overnight outdoors;"
     "WANT: plan a weekend camping trip; LOC: a state park campground", "LOC: a living room sleepover"),
    ("sleeping_bag", "sleeping_pad",
     "F: sleep warm on cold ground; E: a winter camping trip; BY: backpackers; C: fit in one backpack", ""),
    ("headlamp", "tent",
     "E: a night at the campsite; F: set up camp after dark; WANT: camp after sunset", ""),
    ("camp_stove", "tent", "E: a car camping weekend; F: cook and sleep at the campsite; XISA: a camper", ""),
    ("headlamp", "power_bank",
     "E: a multi-day backpacking trip; F: keep gear charged off the grid; A: backpackers", ""),
    ("smartphone", "phone_case",
     "F: protect a new phone; E: getting a new phone; WANT: keep a new phone safe; XISA: a new phone owner",
     "AS: a gift for a teenager's graduation"),
    ("smartphone", "earbuds",
     "F: listen to music on the go; E: a daily commute; INT: music; BY: commuters", ""),
    ("phone_case", "power_bank", "E: a long road trip; F: keep the phone safe and charged; A: travelers", ""),
    ("laptop", "earbuds", "E: starting college; F: take video calls; A: remote workers | students", ""),
    ("laptop", "power_bank", "E: a business trip; F: work away from outlets; XISA: a digital nomad", ""),
    ("puppy_food", "chew_toy",
     "E: bringing home a new puppy; F: care for a new puppy; WANT: get everything a new puppy needs;"
     "XISA: a new puppy owner; A: puppies", ""),
    ("puppy_food", "dog_harness",
     "E: bringing home a new puppy; F: feed and walk a puppy; XISA: a first-time dog owner", ""),
    ("chew_toy", "dog_harness", "E: a day at the dog park; BY: dogs; WANT: tire out an energetic dog", ""),
    ("cat_litter", "cat_tree",
     "E: adopting a kitten; XISA: a new cat owner; WANT: set up a home for a new cat; BY: cats", ""),
    ("stroller", "snowsuit",
     "E: winter walks with a newborn; F: keep a baby warm outdoors; ON: cold winter days; XISA: a new parent",
     ""),
    ("stroller", "diaper_bag",
     "E: a day out with the baby; F: carry the baby and supplies; A: new parents; LOC: a shopping mall", ""),
    ("baby_monitor", "teether", "E: a baby shower; A: new parents; XISA: an expecting parent", ""),
    ("diaper_bag", "teether", "E: a long car ride with a baby; F: keep a baby calm on outings", ""),
    ("blender", "food_storage",
     "F: prep smoothie packs for the week; E: weekly meal prep; INT: healthy eating", ""),
    ("skillet", "chef_knife",
     "F: cook steak dinners at home; E: a housewarming; XISA: a home cook; WANT: upgrade their kitchen", ""),
    ("coffee_maker", "blender",
     "E: setting up a first apartment | a wedding registry; LOC: a new kitchen; XISA: a newlywed", ""),
    ("chef_knife", "food_storage", "F: chop and store vegetables for the week; E: Sunday meal prep", ""),
    ("yoga_mat", "resistance_bands",
     "F: work out at home; E: a home workout; LOC: the living room; INT: fitness; T: stretch and tone", ""),
    ("yoga_mat", "water_bottle", "E: a hot yoga class; A: yogis; LOC: a yoga studio", ""),
    ("dumbbells", "yoga_mat",
     "F: set up a home gym; LOC: a home gym; WANT: exercise without a gym membership", ""),
    ("dumbbells", "resistance_bands", "F: strength train at home; A: people building a home gym", ""),
    ("running_shoe", "water_bottle",
     "E: marathon training; F: stay hydrated on long runs; XISA: a runner", ""),
    ("running_shoe", "earbuds", "F: listen to music while running; E: a morning run; A: runners", ""),
    ("soccer_ball", "water_bottle", "E: soccer practice; A: youth soccer players; XISA: a soccer parent", ""),
    ("hiking_boot", "water_bottle", "E: a day hike; F: prepare for a long hike; LOC: a mountain trail", ""),
    ("hiking_boot", "tent", "E: a backpacking trip; INT: backpacking; XISA: a backpacker", ""),
    ("rain_boot", "garden_hose", "F: work in a wet garden; A: gardeners; E: spring planting", ""),
    ("pruning_shears", "garden_hose",
     "E: spring garden cleanup; XISA: a gardener; LOC: the backyard garden; WANT: tidy up the yard", ""),
    ("robot_vacuum", "cat_litter",
     "A: cat owners; F: keep a home with pets clean; WANT: sweep up stray litter", ""),
    ("throw_blanket", "string_lights",
     "E: a cozy movie night; F: make a living room cozy; INT: home decor; LOC: a dorm room", ""),
    ("string_lights", "tent", "E: a glamping weekend; LOC: a festival campsite", "E: a backyard wedding"),
    ("sunscreen", "water_bottle", "E: a day at the beach; A: beachgoers; ON: hot sunny days", ""),
    ("shampoo", "hair_dryer",
     "F: wash and style hair; LOC: the bathroom; E: getting ready in the morning", ""),
    ("moisturizer", "sunscreen",
     "F: protect and hydrate skin; E: a morning skincare routine; INT: skin care", ""),
    ("toothbrush", "shampoo", "E: packing for a trip; LOC: a travel toiletry bag", ""),
    ("building_blocks", "board_game",
     "E: a birthday party; F: keep kids entertained on a rainy day; A: kids", ""),
    ("kids_bike", "bike_helmet",
     "F: ride safely; E: a child's first bike ride; A: kids learning to ride; XISA: a parent", ""),
    ("plush_toy", "teether", "E: a baby shower; A: babies; XISA: a relative of a newborn", ""),
    ("plush_toy", "board_game", "E: the holidays; XISA: a grandparent shopping for grandchildren", ""),
    ("slipper", "throw_blanket",
     "E: a cozy night in; F: stay warm at home; A: people who get cold easily; XISA: a homebody", ""),
    ("winter_boot", "snowsuit", "E: a family's first winter with a baby; ON: snowy days", ""),
]

# Tails that only fit their own kind of product: implausible for any other (type keys where they fit).
DONOR_TAILS: list[tuple[str, str, tuple[str, ...]]] = [
    ("capable_of", "brew twelve cups of coffee", ("coffee_maker",)),
    ("used_for_function", "absorb cat urine", ("cat_litter",)),
    ("capable_of", "record 4K video", ("smartphone", "laptop")),
    ("used_for_function", "puree baby food", ("blender",)),
    ("used_for_function", "sear steaks", ("skillet", "camp_stove")),
    ("used_for_function", "remove plaque from teeth", ("toothbrush",)),
    ("used_for_function", "treat a flaky scalp", ("shampoo",)),
    ("used_for_function", "dry hair quickly", ("hair_dryer",)),
    ("capable_of", "crush ice", ("blender",)),
    ("capable_of", "map the rooms of a house", ("robot_vacuum",)),
    ("used_in_body", "gums", ("teether", "toothbrush", "chew_toy")),
    ("used_in_body", "scalp", ("shampoo", "hair_dryer")),
    ("used_in_body", "ears", ("earbuds",)),
    ("used_in_body", "teeth", ("toothbrush", "chew_toy", "teether")),
    ("used_for_function", "water the lawn", ("garden_hose",)),
    ("used_for_function", "feed a growing puppy", ("puppy_food",)),
    ("used_to", "make calls and send messages", ("smartphone", "laptop")),
    ("capable_of", "boil a liter of water in four minutes", ("camp_stove", "coffee_maker")),
    ("used_for_function", "block UV rays", ("sunscreen", "moisturizer", "tent")),
    ("used_to", "trim rose bushes", ("pruning_shears",)),
    ("capable_of", "stream music over Bluetooth", ("earbuds", "smartphone", "laptop")),
    ("used_for_function", "protect the head in a fall", ("bike_helmet",)),
    ("capable_of", "inflate in a few breaths", ("sleeping_pad",)),
    ("used_for_function", "chop vegetables", ("chef_knife", "blender")),
    ("used_to", "brush a dog's teeth", ("toothbrush", "chew_toy")),
    ("capable_of", "keep ice cream frozen for a week", ()),
]

# Implausible tails per relation: (tail, categories where it might be plausible after all).
IMPLAUSIBLE: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "used_in_body": [
        ("the lungs", ()), ("the bloodstream", ()), ("the inner ear", ("Electronics",)),
        ("the stomach lining", ()), ("the eyelids", ("Beauty",)),
    ],
    "capable_of": [
        ("charge a phone", ("Electronics",)), ("fly on its own", ()), ("translate French", ("Electronics",)),
        ("cure a cold", ()), ("grow back when cut", ()), ("predict the weather", ("Electronics",)),
        ("cook a turkey", ("Kitchen", "Outdoors & Camping")),
    ],
    "used_for_function": [
        ("replace a car battery", ()), ("perform surgery", ()), ("mow the lawn", ("Home & Garden",)),
        ("fill cavities in teeth", ()), ("cut hair", ("Beauty", "Kitchen", "Home & Garden")),
    ],
    "used_to": [
        ("boil water", ("Kitchen", "Outdoors & Camping")), ("charge a laptop", ("Electronics",)),
        ("file taxes", ("Electronics",)), ("pave a driveway", ()),
    ],
    "used_for_audience": [
        ("goldfish", ("Pet Supplies",)), ("newborn babies", ("Baby", "Toys", "Beauty")),
        ("astronauts on spacewalks", ()),
    ],
    "used_by": [
        ("goldfish", ("Pet Supplies",)), ("newborns", ("Baby", "Toys", "Beauty")), ("houseplants", ()),
    ],
    "used_in_location": [
        ("the bottom of the ocean", ()), ("outer space", ()), ("a volcano crater", ()),
    ],
    "used_on": [("the surface of the moon", ()), ("wet paint", ()), ("a frozen lake in July", ())],
    "used_as": [
        ("a parachute", ()), ("a life jacket", ()), ("a pacifier", ("Baby", "Toys")),
        ("a toothbrush", ("Beauty",)),
    ],
    "used_with": [
        ("a car engine", ()), ("a chainsaw", ("Home & Garden",)), ("a microwave oven", ("Kitchen",)),
    ],
    "used_for_event": [("open-heart surgery", ()), ("a space launch", ()), ("a deep-sea dive", ())],
    "x_want": [
        ("eat it for dinner", ("Kitchen", "Pet Supplies")), ("mail it to the moon", ()),
        ("plant it in the soil", ("Home & Garden",)),
    ],
    "is_a": [("a type of vegetable", ()), ("a musical instrument", ()), ("a prescription medicine", ())],
    "x_is_a": [("a professional astronaut", ()), ("a deep-sea diver", ())],
}

GENERIC_ANY = [
    "used for the same reason", "it is a good product", "people like it", "for daily use",
    "many different purposes", "the same purpose as the product", "general use", "everyday use",
    "a variety of uses", "personal use", "various reasons", "it is useful", "something useful",
    "the product", "their needs", "good quality",
]
GENERIC_BY_REL = {
    "used_for_audience": ["everyone", "people", "customers", "all ages"],
    "used_by": ["people", "customers", "anyone"],
    "x_is_a": ["a person", "a customer", "a shopper"],
    "x_want": ["buy a product", "use it", "have it", "buy something"],
    "x_interested_in": ["products", "shopping", "buying things"],
    "capable_of": ["be used", "do its job", "work well"],
    "used_for_event": ["any occasion", "everyday life", "daily activities"],
    "used_in_location": ["home", "anywhere", "many places"],
    "is_a": ["a product", "an item", "a thing people buy"],
    "used_with": ["other products", "other items"],
    "used_on": ["any day", "everyday"],
    "used_as": ["a product", "an item"],
}
GENERIC_RELATIONS = [
    "used_for_function", "used_for_function", "capable_of", "used_for_event", "used_for_audience", "x_want",
    "x_want", "used_by", "x_is_a", "is_a", "used_in_location", "used_with", "x_interested_in", "used_to",
]
ECHO_RELATIONS = [
    "used_for_function", "used_for_function", "x_want", "x_want", "is_a", "used_for_audience", "capable_of",
    "used_for_event", "used_with", "x_interested_in",
]

DANGLING = [
    "because the product is used for", "to keep the", "so that they can", "used for the purpose of",
    "it can be used to", "the product is", "which allows them to", "because they want to",
    "in order to", "as well as",
]
FUNCTION_WORDS = {
    "the", "a", "an", "to", "for", "of", "with", "on", "in", "and", "their", "during", "while", "at", "from",
}

FIRST_NAMES = ["jane", "mark", "priya", "diego", "lena", "tom", "aisha", "ken", "sofia", "omar"]
LAST_NAMES = ["doe", "miller", "sharma", "lopez", "fischer", "nguyen", "okafor", "berg", "rossi", "haddad"]
PII_TEMPLATES = [
    "contact {first}.{last}@example.com for bulk orders",
    "call (212) 555-01{nn} to ask about a replacement",
    "email {first}{nn}@example.net with questions about the {noun}",
    "my number is +1 415 555 01{nn}, text me",
    "send your address to {first}.{last}@mail.example.org for a free {noun}",
    "ask {First} at 555-01{nn} for a discount code",
    "reviews by {first}_{last}@example.com say it is great",
]
JUNK_WORDS = ["great", "good", "nice", "best", "very", "the", "product", "buy", "amazing"]
JUNK_FIXED = [
    "asdf jkl asdf", "lorem ipsum dolor sit", "N/A N/A N/A", "tail tail tail tail tail", ":) :) :) :)",
    "[ERROR] null", "###", "undefined", "<|endoftext|>", "?? ## ??", "{relation}: {tail}", "xxx xxx xxx",
    "1. 2. 3. 4. 5.", "\\n\\n\\n", "ok ok ok ok ok ok",
]
JUNK_SYMBOLS = "@#$%^&*()_+=~<>/|[]{}-"

GENERATORS = ["gpt-4o", "claude-3-haiku", "llama-3-70b-instruct"]
GEN_WEIGHTS = {
    "default": [5, 3, 3],
    "good": [6, 4, 3],
    "incomplete": [1, 2, 5],
    "junk": [1, 1, 6],
    "blocked_pii": [1, 1, 4],
    "echo_query": [2, 3, 4],
    "echo_title": [2, 3, 4],
}
PROMPT_VERSION = {
    "gpt-4o": ["v2", "v2", "v1"], "claude-3-haiku": ["v1", "v2"], "llama-3-70b-instruct": ["v1"],
}
KIND_PREFIX = {"search_buy": "sb", "co_buy": "cb", "plain": "pl"}

DEFECT_WEIGHTS: dict[str, list[float]] = {
    #              good incomplete echo_q echo_t generic implausible atypical pii junk
    "search_buy": [37, 10, 10, 6, 13, 10, 8, 1.5, 3.5],
    "co_buy": [38, 10, 0, 12, 14, 10, 8, 1.5, 3.5],
    "plain": [46, 11, 0, 0, 15, 12, 12, 1, 3],
}
LINES_PER_HEAD = [(1, 5), (2, 12), (3, 18), (4, 20), (5, 17), (6, 12), (7, 8), (8, 5), (10, 3)]

LABELS_BY_DEFECT: dict[str, dict[str, bool]] = {
    "good": dict.fromkeys(LABEL_ORDER, True),
    "incomplete": {"complete": False},
    "echo_query": {"complete": True, "relevant": True, "informative": False},
    "echo_title": {"complete": True, "relevant": True, "informative": False},
    "generic": {"complete": True, "informative": False},
    "implausible": {"complete": True, "relevant": True, "informative": True, "plausible": False},
    "atypical": {
        "complete": True, "relevant": True, "informative": True, "plausible": True, "typical": False,
    },
}
LABEL_QUOTA = {
    "good": 56, "incomplete": 18, "echo_query": 14, "echo_title": 10, "generic": 18, "implausible": 17,
    "atypical": 17,
}

# fmt: on


def normalize_text(text: str) -> str:
    """The ingest's identity of a text: NFKC, case-folded, single spaces, no end punctuation."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(_TRAILING_PUNCTUATION)


def _tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words]


# Who a query or a title is for; a query for one group does not lead to a product made for another.
DEMOGRAPHIC = {
    "men": "men",
    "man": "men",
    "women": "women",
    "woman": "women",
    "pregnant": "women",
    "mom": "women",
    "kid": "kids",
    "toddler": "kids",
    "youth": "kids",
    "child": "kids",
    "children": "kids",
    "baby": "baby",
    "infant": "baby",
    "newborn": "baby",
    "adult": "adults",
}


@dataclass
class Head:
    kind: str
    types: list[ProductType]
    good: dict[str, list[str]]
    odd: dict[str, list[str]]
    categories: list[str]
    count: int = 1
    query: str = ""
    product: dict[str, Any] | None = None
    other: dict[str, Any] | None = None
    head: str = ""

    def identity(self) -> str:
        if self.kind == "search_buy":
            assert self.product is not None
            return f"sb|{normalize_text(self.query)}|{self.product['id']}"
        if self.kind == "co_buy":
            assert self.product is not None and self.other is not None
            return f"cb|{self.product['id']}|{self.other['id']}"
        return f"pl|{normalize_text(self.head)}"


def merge_tails(*sources: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for source in sources:
        for relation, tails in source.items():
            bucket = out.setdefault(relation, [])
            bucket.extend(t for t in tails if t not in bucket)
    return out


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.next_id = 1
        self.products: dict[str, list[dict[str, Any]]] = {}

    # -- catalogue ---------------------------------------------------------------------------------------
    def build_products(self) -> None:
        rng = self.rng
        for ptype in TYPES:
            products: list[dict[str, Any]] = []
            self.products[ptype.key] = products
            n = rng.choice([3, 4, 4, 4, 5])
            seen: list[str] = []
            attempts = 0
            while len(products) < n and attempts < 50:
                attempts += 1
                template = ptype.titles[len(products) % len(ptype.titles)]
                attributes: dict[str, Any] = {"brand": rng.choice(ptype.brands)}
                for name, values in ptype.attrs.items():
                    attributes[name] = rng.choice(values)
                title = template.format(**attributes)
                if title in seen:
                    continue
                seen.append(title)
                if rng.random() < 0.25:
                    del attributes[rng.choice([k for k in attributes if k != "brand"])]
                products.append(
                    {
                        "id": f"P{self.next_id:06d}",
                        "title": title,
                        "category": ptype.category,
                        "attributes": attributes,
                    }
                )
                self.next_id += 1

    def pick_products(self, query: str, ptype: ProductType, k: int) -> list[dict[str, Any]]:
        """Products of a type that a query would plausibly lead to, better title matches more often."""
        q_tokens = set(_tokens(query))
        q_groups = {DEMOGRAPHIC[t] for t in q_tokens if t in DEMOGRAPHIC}
        pool: list[dict[str, Any]] = []
        weights: list[int] = []
        for product in self.products[ptype.key]:
            t_tokens = set(_tokens(product["title"]))
            t_groups = {DEMOGRAPHIC[t] for t in t_tokens if t in DEMOGRAPHIC}
            if q_groups and t_groups and not q_groups & t_groups:
                continue
            pool.append(product)
            weights.append((1 + len(q_tokens & t_tokens)) ** 2)
        if not pool:
            pool = list(self.products[ptype.key])
            weights = [1] * len(pool)
        chosen: list[dict[str, Any]] = []
        for _ in range(min(k, len(pool))):
            index = self.rng.choices(range(len(pool)), weights=weights)[0]
            chosen.append(pool.pop(index))
            weights.pop(index)
        return chosen

    def pair_count(self) -> int:
        return min(int(self.rng.paretovariate(1.1)), 25_000)

    # -- heads -------------------------------------------------------------------------------------------
    def build_heads(self) -> list[Head]:
        rng = self.rng
        heads: list[Head] = []
        for ptype in TYPES:
            for query in ptype.queries:
                k = rng.choices([1, 2, 3], weights=[50, 35, 15])[0]
                extra = parse_tails(QUERY_TAILS.get(query, ""))
                for product in self.pick_products(query, ptype, k):
                    heads.append(
                        Head(
                            "search_buy",
                            [ptype],
                            merge_tails(extra, ptype.good),
                            ptype.odd,
                            [ptype.category],
                            count=self.pair_count(),
                            query=query,
                            product=product,
                        )
                    )
        for query, keys, spec in BROAD:
            extra = parse_tails(spec)
            products = [(key, product) for key in keys for product in self.products[key]]
            for key, product in rng.sample(products, min(len(products), rng.randint(4, 7))):
                ptype = TYPE_BY_KEY[key]
                heads.append(
                    Head(
                        "search_buy",
                        [ptype],
                        merge_tails(extra, ptype.good),
                        ptype.odd,
                        [ptype.category],
                        count=self.pair_count(),
                        query=query,
                        product=product,
                    )
                )
        for key_a, key_b, spec, odd in CO_BUY:
            ta, tb = TYPE_BY_KEY[key_a], TYPE_BY_KEY[key_b]
            own = parse_tails(spec)
            odd_tails = merge_tails(parse_tails(odd), ta.odd if rng.random() < 0.5 else tb.odd)
            n_pairs = rng.randint(3, 5)
            seen: list[tuple[str, str]] = []
            for _ in range(n_pairs * 3):
                if len(seen) == n_pairs:
                    break
                pa, pb = rng.choice(self.products[key_a]), rng.choice(self.products[key_b])
                if (pa["id"], pb["id"]) in seen:
                    continue
                seen.append((pa["id"], pb["id"]))
                if rng.random() < 0.3:
                    pa, pb = pb, pa
                heads.append(
                    Head(
                        "co_buy",
                        [ta, tb],
                        own,
                        odd_tails,
                        [ta.category, tb.category],
                        count=self.pair_count(),
                        product=pa,
                        other=pb,
                    )
                )
        for ptype in rng.sample(TYPES, 44):
            heads.append(Head("plain", [ptype], ptype.good, ptype.odd, [ptype.category], head=ptype.noun))
        return heads

    # -- tails -------------------------------------------------------------------------------------------
    def weighted_relation(self, relations: list[str], avoid: list[str]) -> str:
        candidates = [r for r in relations if r not in avoid] or relations
        return self.rng.choices(candidates, weights=[REL_WEIGHT.get(r, 1) for r in candidates])[0]

    def good_tail(self, head: Head, used_relations: list[str]) -> tuple[str, str]:
        relations = sorted(head.good, key=RELATIONS.index)
        relation = self.weighted_relation(relations, used_relations)
        return relation, self.rng.choice(head.good[relation])

    def incomplete_tail(self, head: Head) -> tuple[str, str]:
        rng = self.rng
        relation, tail = self.good_tail(head, [])
        words = tail.split()
        style = rng.random()
        if style < 0.45 and len(words) >= 3:
            cuts = [i for i in range(1, len(words) - 1) if words[i].lower() in FUNCTION_WORDS]
            if cuts:
                return relation, " ".join(words[: rng.choice(cuts) + 1])
            return relation, " ".join(words[:-1]) + rng.choice([" and", " the", " to"])
        if style < 0.7:
            dangling = rng.choice(DANGLING)
            if rng.random() < 0.5:
                return relation, dangling
            return relation, f"{tail} {dangling}"
        variants = [f'"{tail}', f"({tail}", f"{tail} (such as", f'{tail} "for', f"{tail}, and [the"]
        return relation, rng.choice(variants)

    def echo_query_tail(self, head: Head) -> tuple[str, str]:
        q = head.query
        variants = [q, q, q, q[:1].upper() + q[1:], q + ".", "for " + q, "a " + q, q.title()]
        return self.rng.choice(ECHO_RELATIONS), self.rng.choice(variants)

    def _title_variants(self, product: dict[str, Any]) -> list[str]:
        title: str = product["title"]
        brand = str(product.get("attributes", {}).get("brand", ""))
        without_brand = title[len(brand) + 1 :] if brand and title.startswith(brand + " ") else title
        first_part = without_brand.split(",")[0]
        return [
            title,
            title,
            title.lower(),
            without_brand,
            first_part,
            "a " + first_part.lower(),
            title + ".",
        ]

    def echo_title_tail(self, head: Head) -> tuple[str, str]:
        assert head.product is not None
        rng = self.rng
        if head.kind == "co_buy" and head.other is not None and rng.random() < 0.4:
            a = self._title_variants(head.product)[4]
            b = self._title_variants(head.other)[4]
            return rng.choice(ECHO_RELATIONS), f"{a.lower()} and {b.lower()}"
        product = head.product if head.other is None or rng.random() < 0.6 else head.other
        return rng.choice(ECHO_RELATIONS), rng.choice(self._title_variants(product))

    def generic_tail(self) -> tuple[str, str]:
        relation = self.rng.choice(GENERIC_RELATIONS)
        pool = GENERIC_ANY + GENERIC_BY_REL.get(relation, []) * 2
        return relation, self.rng.choice(pool)

    def implausible_tail(self, head: Head) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < 0.45:
            keys = {t.key for t in head.types}
            known = {tail for tails in head.good.values() for tail in tails}
            donors = [d for d in DONOR_TAILS if not keys & set(d[2]) and d[1] not in known]
            relation, tail, _ = rng.choice(donors)
            return relation, tail
        relations = [
            r
            for r in IMPLAUSIBLE
            if r not in head.good or r in ("capable_of", "used_for_function", "is_a", "used_in_location")
        ]
        relation = rng.choice(sorted(relations, key=RELATIONS.index))
        options = [t for t, allowed in IMPLAUSIBLE[relation] if not set(allowed) & set(head.categories)]
        return relation, rng.choice(options)

    def atypical_tail(self, head: Head) -> tuple[str, str]:
        relation = self.rng.choice(sorted(head.odd, key=RELATIONS.index))
        return relation, self.rng.choice(head.odd[relation])

    def pii_tail(self, head: Head) -> tuple[str, str]:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        tail = rng.choice(PII_TEMPLATES).format(
            first=first,
            First=first.capitalize(),
            last=last,
            nn=f"{rng.randint(0, 99):02d}",
            noun=head.types[0].noun,
        )
        return rng.choice(["x_want", "used_by", "used_for_function", "capable_of"]), tail

    def junk_tail(self) -> tuple[str, str]:
        rng = self.rng
        style = rng.random()
        if style < 0.35:
            tail = " ".join([rng.choice(JUNK_WORDS)] * rng.randint(4, 9))
        elif style < 0.65:
            tail = "".join(rng.choice(JUNK_SYMBOLS) for _ in range(rng.randint(4, 14)))
            if tail[0] in "=+-@":  # junk, not a spreadsheet formula (which ingest refuses); draws nothing extra
                tail = "#" + tail[1:]
        else:
            tail = rng.choice(JUNK_FIXED)
        return rng.choice(RELATIONS), tail

    def tail_for(self, defect: str, head: Head, used_relations: list[str]) -> tuple[str, str]:
        if defect == "good":
            return self.good_tail(head, used_relations)
        if defect == "incomplete":
            return self.incomplete_tail(head)
        if defect == "echo_query":
            return self.echo_query_tail(head)
        if defect == "echo_title":
            return self.echo_title_tail(head)
        if defect == "generic":
            return self.generic_tail()
        if defect == "implausible":
            return self.implausible_tail(head)
        if defect == "atypical":
            return self.atypical_tail(head)
        if defect == "blocked_pii":
            return self.pii_tail(head)
        return self.junk_tail()

    # -- records -----------------------------------------------------------------------------------------
    def provenance(self, kind: str, relation: str, defect: str) -> tuple[str | None, str | None]:
        rng = self.rng
        if rng.random() < 0.07:
            return None, None
        weights = GEN_WEIGHTS.get(defect, GEN_WEIGHTS["default"])
        generator = rng.choices(GENERATORS, weights=weights)[0]
        version = rng.choice(PROMPT_VERSION[generator])
        return generator, f"{KIND_PREFIX[kind]}-{REL_SHORT[relation]}-{version}"

    def support(self) -> int | None:
        if self.rng.random() < 0.3:
            return min(int(self.rng.paretovariate(1.4)), 1000)
        return None

    def record(self, head: Head, relation: str, tail: str, defect: str) -> dict[str, Any]:
        generator, prompt_id = self.provenance(head.kind, relation, defect)
        values: dict[str, Any] = {
            "kind": head.kind,
            "query": head.query or None,
            "product": head.product,
            "other_product": head.other,
            "count": head.count if head.kind != "plain" else None,
            "head": head.head or None,
            "relation": relation,
            "tail": tail,
            "generator": generator,
            "prompt_id": prompt_id,
            "support": self.support(),
            "labels": None,
        }
        return {key: values[key] for key in KEY_ORDER if values[key] is not None}

    def lines_for(self, head: Head) -> list[tuple[dict[str, Any], str]]:
        rng = self.rng
        n = rng.choices([n for n, _ in LINES_PER_HEAD], weights=[w for _, w in LINES_PER_HEAD])[0]
        if head.kind == "plain":
            n = rng.choice([2, 3, 3, 4])
        weights = DEFECT_WEIGHTS[head.kind]
        used_relations: list[str] = []
        seen: list[str] = []
        out: list[tuple[dict[str, Any], str]] = []
        for _ in range(n):
            for _attempt in range(8):
                defect = rng.choices(DEFECTS, weights=weights)[0]
                relation, tail = self.tail_for(defect, head, used_relations)
                key = f"{relation}|{normalize_text(tail)}"
                if normalize_text(tail) and key not in seen:
                    break
            else:
                continue
            seen.append(key)
            if defect == "good":
                used_relations.append(relation)
            out.append((self.record(head, relation, tail, defect), defect))
        return out

    def duplicate(self, record: dict[str, Any]) -> dict[str, Any]:
        """The same candidate again, as a model repeats itself: case, spacing or a final period differ."""
        rng = self.rng
        copy = dict(record)
        copy.pop("labels", None)
        tail: str = record["tail"]
        variants = [
            tail,
            tail + ".",
            tail[:1].upper() + tail[1:],
            tail.upper(),
            f"  {tail} ",
            tail.replace(" ", "  ", 1),
            tail.lower() + ".",
        ]
        copy["tail"] = rng.choice(variants)
        if "query" in copy and rng.random() < 0.3:
            copy["query"] = copy["query"].capitalize()
        generator, prompt_id = self.provenance(record["kind"], record["relation"], "default")
        for name, value in (("generator", generator), ("prompt_id", prompt_id), ("support", self.support())):
            if value is None:
                copy.pop(name, None)
            else:
                copy[name] = value
        return {key: copy[key] for key in KEY_ORDER if key in copy}

    def build(self) -> list[tuple[dict[str, Any], str]]:
        rng = self.rng
        self.build_products()
        heads = self.build_heads()
        rows: list[tuple[dict[str, Any], str]] = []
        for head in heads:
            rows.extend(self.lines_for(head))
        rng.shuffle(rows)
        # Known answers for about 150 lines, consistent with what the generator intended.
        for defect, quota in LABEL_QUOTA.items():
            indexes = [i for i, (_, d) in enumerate(rows) if d == defect]
            for i in sorted(rng.sample(indexes, min(quota, len(indexes)))):
                record, _ = rows[i]
                record["labels"] = dict(LABELS_BY_DEFECT[defect])
        # Exact duplicates (same head, relation and normalised tail) so support adds up on ingest.
        originals = sorted(rng.sample(range(len(rows)), len(rows) // 30), reverse=True)
        for i in originals:
            record, defect = rows[i]
            position = rng.randint(i + 1, len(rows))
            rows.insert(position, (self.duplicate(record), defect))
        return rows


def build(seed: int = DEFAULT_SEED) -> list[tuple[dict[str, Any], str]]:
    """The demo candidates for a seed: (record, intended defect) in file order."""
    return Generator(seed).build()


def render(rows: list[tuple[dict[str, Any], str]]) -> tuple[str, str]:
    """The JSON Lines text and the truth.csv text of the rows."""
    jsonl = "".join(
        json.dumps(record, ensure_ascii=False, sort_keys=False, separators=(", ", ": ")) + "\n" for record, _ in rows
    )
    truth = "line,defect\n" + "".join(f"{n},{defect}\n" for n, (_, defect) in enumerate(rows, start=1))
    return jsonl, truth


def gzip_bytes(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def summary(rows: list[tuple[dict[str, Any], str]]) -> dict[str, Counter[str]]:
    kinds: Counter[str] = Counter()
    relations: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    defects: Counter[str] = Counter()
    labelled: Counter[str] = Counter()
    for record, defect in rows:
        kinds[record["kind"]] += 1
        relations[record["relation"]] += 1
        defects[defect] += 1
        for name in ("product", "other_product"):
            if name in record:
                categories[record[name]["category"]] += 1
        if "labels" in record:
            labelled[defect] += 1
    return {
        "kind": kinds,
        "relation": relations,
        "category": categories,
        "defect": defects,
        "labelled": labelled,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the .jsonl.gz file to write")
    parser.add_argument("--truth", type=Path, default=None, help="default: truth.csv next to --out")
    args = parser.parse_args(argv)
    truth_path = args.truth or args.out.parent / "truth.csv"
    rows = build(args.seed)
    jsonl, truth = render(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(gzip_bytes(jsonl))
    truth_path.write_text(truth, encoding="utf-8", newline="\n")
    print(f"wrote {len(rows)} lines to {args.out} and {truth_path}")
    for name, counter in summary(rows).items():
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
