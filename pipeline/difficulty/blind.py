"""The blind check, MMStar's filter: is a sample answerable without its images?

The solver is asked the question and options with the images left out (``difficulty.blind``
draws). Were the text no help, each blind answer would be right by chance, with probability
p = 1 / number of options, so the number right out of n draws would follow Binomial(n, p). A
sample is *answerable without images* when that many right or more is that unlikely: a
one-sided binomial test, p-value P(X >= right) at most ``significance`` (default 0.05).

Few draws cannot show much: with n draws the best evidence is n of n right, whose p-value is
p^n, so nothing is ever found answerable below ``fewest_draws`` (at 0.05: 5 draws for two
options, 3 for three or four, 2 for five or more). With the default 5 draws and four options a
sample is answerable at 4 or 5 right (p = 0.016), not at 3 (p = 0.104); with two options only
at 5 of 5 (p = 0.031).
"""
import dataclasses
import math


def binomial_tail(right: int, draws: int, chance: float) -> float:
    """P(X >= right) for X ~ Binomial(draws, chance)."""
    return min(1.0, sum(math.comb(draws, k) * chance ** k * (1 - chance) ** (draws - k)
                        for k in range(right, draws + 1)))


def fewest_draws(options: int, significance: float) -> int:
    """The fewest draws at which all of them right is significant, for ``options`` options."""
    draws = 1
    while (1 / options) ** draws > significance:
        draws += 1
    return draws


@dataclasses.dataclass(frozen=True)
class BlindVerdict:
    right: int
    draws: int
    options: int
    p_value: float
    answerable: bool

    @property
    def pass_rate(self) -> float:
        return self.right / self.draws

    def detail(self, significance: float) -> str:
        """One line for the rejects record."""
        return (f"blind right {self.right} of {self.draws}, chance 1/{self.options}: one-sided binomial "
                f"p = {self.p_value:.3g} <= {significance:g}")


def blind_verdict(right: int, draws: int, options: int, significance: float) -> BlindVerdict:
    """The test of ``right`` blind answers out of ``draws`` (at least one) on a sample of ``options`` options."""
    p_value = binomial_tail(right, draws, 1 / options)
    return BlindVerdict(right, draws, options, p_value, p_value <= significance)
