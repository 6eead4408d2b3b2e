from .distribution_encoders import GammaEncoder, GaussianEncoder
from .firing_rate import FiringRateEncoder
from .zero_inflation_encoders import ZIGEncoder, ZILEncoder
